import { Module } from '@nestjs/common';
import { ProviderStateStore } from './provider-state.store';

/** The providers' circuits and buckets alone: the workers use them, the queue figures show them. */
@Module({
  providers: [ProviderStateStore],
  exports: [ProviderStateStore],
})
export class ProviderStateModule {}
