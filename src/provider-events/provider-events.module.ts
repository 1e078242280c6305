import { Module } from '@nestjs/common';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { ProviderEventsController } from './provider-events.controller';
import { ProviderEventsService } from './provider-events.service';
import { SesNotificationsService } from './ses-notifications.service';

/** Providers' callbacks about sent mail: delivered, bounced, complained (the api role serves them). */
@Module({
  imports: [SuppressionsModule],
  controllers: [ProviderEventsController],
  providers: [ProviderEventsService, SesNotificationsService],
})
export class ProviderEventsModule {}
