import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookDeliveryWorker } from './webhook-delivery.worker';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEndpointGate } from './webhook-endpoint-gate';
import { WebhookEndpointsStore } from './webhook-endpoints.store';
import { WebhooksService } from './webhooks.service';

/**
 * Outbound webhooks: every process that handles emails (api, worker) queues deliveries for the events it sees;
 * the API manages endpoints and deliveries (WebhooksController).
 */
@Module({
  imports: [QueueModule],
  providers: [
    WebhookEndpointsStore,
    WebhookDeliveriesStore,
    WebhookDispatcher,
    WebhookEndpointGate,
    WebhooksService,
  ],
  exports: [WebhookDeliveriesStore, WebhookEndpointsStore, WebhookEndpointGate, WebhooksService],
})
export class WebhooksModule {}

/** The worker role's part: sending the queued deliveries. */
@Module({
  imports: [QueueModule, WebhooksModule],
  providers: [WebhookDeliveryWorker],
})
export class WebhookDeliveryModule {}
