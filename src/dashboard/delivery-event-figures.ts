import { Injectable } from '@nestjs/common';
import { WebhookQueue } from '../queue/webhook-queue';
import { SuppressionStore } from '../suppressions/suppression.store';
import { WebhookDeliveriesStore, type DeliveryStatus } from '../webhooks/webhook-deliveries.store';
import { WebhookEndpointGate } from '../webhooks/webhook-endpoint-gate';
import { WebhookEndpointsStore } from '../webhooks/webhook-endpoints.store';

/** Suppressions and outbound webhooks at a glance: what callers are told, and who is no longer mailed. */
export interface DeliveryEventFigures {
  suppressedAddresses: number;
  webhooks: number;
  /** Webhooks paused because they kept timing out (their deliveries held until resumed). */
  pausedWebhooks: number;
  /** Deliveries within the retention, over every webhook, by status. */
  deliveries: Record<DeliveryStatus, number>;
  /** Webhook jobs waiting to be sent now, and waiting for a retry. */
  queue: { waiting: number; delayed: number; active: number };
}

/** The dashboard's figures of suppressions and webhooks, from the stores that keep them. */
@Injectable()
export class DeliveryEventFiguresService {
  constructor(
    private readonly suppressions: SuppressionStore,
    private readonly endpoints: WebhookEndpointsStore,
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly gate: WebhookEndpointGate,
    private readonly webhookQueue: WebhookQueue,
  ) {}

  /** Read in two round trips: the webhook ids, then every count (with the queue's counts). */
  async figures(): Promise<DeliveryEventFigures> {
    const [ids, counts] = await Promise.all([this.endpoints.ids(), this.webhookQueue.queue.getJobCounts()]);
    const [suppressedAddresses, pausedWebhooks, deliveries] = await Promise.all([
      this.suppressions.count(),
      this.gate.pausedCount(),
      this.deliveries.countByStatus(ids),
    ]);
    return {
      suppressedAddresses,
      webhooks: ids.length,
      pausedWebhooks,
      deliveries,
      queue: { waiting: counts.waiting, delayed: counts.delayed, active: counts.active },
    };
  }
}
