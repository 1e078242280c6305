import { Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { ProviderEventsController } from './provider-events.controller';
import { CallbackAdmission } from './callback-admission';
import { MailgunTokenStore } from './mailgun-token.store';
import { ProviderEventsService } from './provider-events.service';
import { SesNotificationsService } from './ses-notifications.service';

/** Providers' callbacks about sent mail: delivered, bounced, complained (the api role serves them). */
@Module({
  imports: [EmailRecordsModule, SuppressionsModule],
  controllers: [ProviderEventsController],
  providers: [ProviderEventsService, SesNotificationsService, MailgunTokenStore, CallbackAdmission],
  exports: [CallbackAdmission],
})
export class ProviderEventsModule {}
