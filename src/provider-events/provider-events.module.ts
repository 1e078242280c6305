import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { CallbackAdmission } from './callback-admission';
import { CallbackRateLimiter } from './callback-rate-limiter';
import { MailgunTokenStore } from './mailgun-token.store';
import { ProviderEventStore } from './provider-event.store';
import { ProviderEventsService } from './provider-events.service';
import { SesNotificationsService } from './ses-notifications.service';

/** Providers' callbacks about sent mail: delivered, bounced, complained (the API serves them: ProviderEventsController). */
@Module({
  imports: [EmailsModule, SuppressionsModule],
  providers: [
    ProviderEventsService,
    SesNotificationsService,
    ProviderEventStore,
    MailgunTokenStore,
    CallbackAdmission,
    CallbackRateLimiter,
  ],
  exports: [ProviderEventsService, SesNotificationsService, CallbackAdmission],
})
export class ProviderEventsModule {}
