import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookEndpointGate } from './webhook-endpoint-gate';
import { WebhookEndpointsStore } from './webhook-endpoints.store';

/** The webhook endpoints, their deliveries and their gate alone: the figures read them without sending. */
@Module({
  imports: [QueueModule],
  providers: [WebhookEndpointsStore, WebhookDeliveriesStore, WebhookEndpointGate],
  exports: [WebhookEndpointsStore, WebhookDeliveriesStore, WebhookEndpointGate],
})
export class WebhookStoresModule {}
