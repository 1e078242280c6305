import { Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { ProviderEventsController } from './provider-events.controller';
import { CallbackAdmission } from './callback-admission';
import { CallbackRateLimiter } from './callback-rate-limiter';
import { MailgunTokenStore } from './mailgun-token.store';
import { ProviderEventStore } from './provider-event.store';
import { ProviderEventsService } from './provider-events.service';
import { SesNotificationsService } from './ses-notifications.service';

/** Providers' callbacks about sent mail: delivered, bounced, complained (the api role serves them). */
@Module({
  imports: [EmailRecordsModule, SuppressionsModule],
  controllers: [ProviderEventsController],
  providers: [
    ProviderEventsService,
    SesNotificationsService,
    ProviderEventStore,
    MailgunTokenStore,
    CallbackAdmission,
    CallbackRateLimiter,
  ],
  exports: [CallbackAdmission],
})
export class ProviderEventsModule {}
