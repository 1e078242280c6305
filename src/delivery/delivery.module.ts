import { Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { TemplateRegistryModule } from '../templates/template-registry.module';
import { DeliveryStore } from './delivery-store';
import { DeliveryService } from './delivery.service';
import { DeliveryWorker } from './delivery.worker';
import { ProviderStateModule } from './provider-state.module';

/** The worker role: job processing. Only a worker process imports it, so an api process never takes jobs. */
@Module({
  imports: [
    QueueModule,
    ProvidersModule,
    TemplateRegistryModule,
    SuppressionsModule,
    EmailRecordsModule,
    ProviderStateModule,
  ],
  providers: [DeliveryStore, DeliveryService, DeliveryWorker],
  exports: [DeliveryWorker],
})
export class DeliveryModule {}
