import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { TemplatesModule } from '../templates/templates.module';
import { DeliveryStore } from './delivery.store';
import { DeliveryService } from './delivery.service';
import { DeliveryProcessor } from './delivery.processor';
import { ProviderStateModule } from './provider-state.module';

/** The worker role: job processing. Only a worker process imports it, so an api process never takes jobs. */
@Module({
  imports: [
    QueueModule,
    ProvidersModule,
    TemplatesModule,
    SuppressionsModule,
    EmailsModule,
    ProviderStateModule,
  ],
  providers: [DeliveryStore, DeliveryService, DeliveryProcessor],
})
export class DeliveryModule {}
