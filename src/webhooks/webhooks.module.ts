import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { QueueModule } from '../queue/queue.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookStoresModule } from './webhook-stores.module';
import { WebhooksService } from './webhooks.service';

/**
 * Outbound webhooks: every process that handles emails (api, worker) queues deliveries for the events it sees;
 * the API manages endpoints and deliveries (WebhooksController).
 */
@Module({
  imports: [QueueModule, EmailsModule, WebhookStoresModule],
  providers: [WebhookDispatcher, WebhooksService],
  exports: [WebhookStoresModule, WebhooksService],
})
export class WebhooksModule {}

/** The worker role's part: sending the queued deliveries. */
@Module({
  imports: [QueueModule, WebhooksModule],
  providers: [WebhookDeliveryService, WebhookDeliveryProcessor],
})
export class WebhookDeliveryModule {}
