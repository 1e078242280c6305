import { type DynamicModule, Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { QueueModule } from '../queue/queue.module';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookStoresModule } from './webhook-stores.module';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/**
 * Outbound webhooks. Every process that handles emails queues deliveries for the events it sees; with
 * `routes` (api role) it serves the API, with `deliver` (worker role) it sends them.
 */
@Module({})
export class WebhooksModule {
  static forRoles(options: { routes: boolean; deliver: boolean }): DynamicModule {
    return {
      module: WebhooksModule,
      imports: [QueueModule, EmailRecordsModule, WebhookStoresModule],
      controllers: options.routes ? [WebhooksController] : [],
      providers: [
        WebhookDispatcher,
        ...(options.routes ? [WebhooksService] : []),
        ...(options.deliver ? [WebhookDeliveryWorker] : []),
      ],
    };
  }
}
