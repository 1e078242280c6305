import { Module } from '@nestjs/common';
import { IdempotencyGuard } from './idempotency.guard';
import { IdempotencyResponses } from './idempotency-responses';
import { IdempotencyStore } from './idempotency.store';

/**
 * Idempotency-Key handling for every POST of the API. The guard is global, registered in AppModule right
 * after ServiceTokenGuard (global guards run in the order they are provided).
 */
@Module({
  providers: [IdempotencyStore, IdempotencyGuard, IdempotencyResponses],
  exports: [IdempotencyGuard],
})
export class IdempotencyModule {}
