import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { ReadinessService } from './readiness.service';

/** The readiness checks behind every port's `/health/ready` (HealthController). */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), QueueModule, ProvidersModule],
  providers: [ReadinessService],
  exports: [ReadinessService],
})
export class HealthModule {}
