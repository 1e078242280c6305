import { Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { DeliveryService } from './delivery.service';
import { DeliveryWorker } from './delivery.worker';

/** The worker role: job processing. Only a worker process imports it, so an api process never takes jobs. */
@Module({
  imports: [EmailRecordsModule, QueueModule, ProvidersModule],
  providers: [DeliveryService, DeliveryWorker],
  exports: [DeliveryWorker],
})
export class DeliveryModule {}
