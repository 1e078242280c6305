import { type DynamicModule, Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEndpointGate } from './webhook-endpoint-gate';
import { WebhookEndpointsStore } from './webhook-endpoints.store';
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
      imports: [QueueModule],
      controllers: options.routes ? [WebhooksController] : [],
      providers: [
        WebhookEndpointsStore,
        WebhookDeliveriesStore,
        WebhookDispatcher,
        WebhookEndpointGate,
        ...(options.routes ? [WebhooksService] : []),
        ...(options.deliver ? [WebhookDeliveryWorker] : []),
      ],
      exports: [WebhookDeliveriesStore, WebhookEndpointsStore],
    };
  }
}
