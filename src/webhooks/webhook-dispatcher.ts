import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Batcher } from '../common/batcher';
import { uuidv7 } from '../common/ids';
import { Throttle } from '../common/throttle';
import { EmailStore } from '../emails/email.store';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { WebhookQueue } from '../queue/webhook-queue';
import type { NewDelivery } from './webhook-deliveries.store';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookEndpointsStore, type WebhookEndpoint } from './webhook-endpoints.store';
import { WEBHOOK_EVENT_OF, type WebhookEventType } from './webhook-event-types';
import { webhookPayload, type EmailFacts } from './webhook-payload';

/** How often each process checks whether the endpoints changed (one GET): a new webhook hears events within it. */
export const ENDPOINTS_REFRESH_MS = 1000;
/** Events are queued together, at most this long after they happened. */
const FLUSH_DELAY_MS = 10;
/** Events kept while Redis is away, retried each second; beyond this the oldest are dropped and counted. */
const MAX_HELD_EVENTS = 10_000;
const RETRY_FLUSH_MS = 1000;
const DROP_LOG_INTERVAL_MS = 60_000;

/** An event waiting to be queued; its ids are fixed here, so that queuing it again after a failure is harmless. */
interface HeldEvent {
  event: EmailEvent;
  type: WebhookEventType;
  eventId: string;
  deliveries: { id: string; webhookId: string }[];
}

/**
 * Turns email events into webhook deliveries: for each event some endpoint wants, reads the email's
 * recipients, records one delivery per endpoint (sharing one event id) and queues them, in batches, off the
 * path of the send that caused them. With no endpoint listening, an event costs a lookup in memory.
 */
@Injectable()
export class WebhookDispatcher implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private endpoints: readonly WebhookEndpoint[] = [];
  private version?: string;
  private readonly held: Batcher<HeldEvent>;
  private refreshTimer?: NodeJS.Timeout;
  private readonly dropLog = new Throttle(DROP_LOG_INTERVAL_MS);

  constructor(
    private readonly events: EmailEvents,
    private readonly endpointsStore: WebhookEndpointsStore,
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly queue: WebhookQueue,
    private readonly emails: EmailStore,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('webhooks');
    this.held = new Batcher<HeldEvent>({
      write: (batch) => this.queueDeliveries(batch),
      delayMs: FLUSH_DELAY_MS,
      maxWaiting: MAX_HELD_EVENTS,
      retry: { afterMs: RETRY_FLUSH_MS },
      onWriteFailed: (error, events) =>
        this.logger.warn(
          { events, reason: error instanceof Error ? error.message : String(error) },
          'webhook events not queued yet; retrying',
        ),
      onOverflow: () => {
        if (this.dropLog.allows())
          this.logger.error(
            { dropped: this.droppedEvents, held: MAX_HELD_EVENTS },
            'webhook events dropped: Redis unreachable for too long',
          );
      },
    });
  }

  /** Events dropped because Redis stayed away too long (exported as a metric). */
  get droppedEvents(): number {
    return this.held.dropped;
  }

  async onModuleInit(): Promise<void> {
    this.events.subscribe(this);
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh(), ENDPOINTS_REFRESH_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.refreshTimer);
    const lost = await this.held.close();
    // Still held: Redis was unreachable to the end. Said plainly, since these webhooks will not be sent.
    if (lost > 0) this.logger.error({ events: lost }, 'webhook events lost at shutdown: Redis unreachable');
  }

  /** Reloads the endpoints when their version changed (or now, after a change made in this process). */
  async refresh(force = false): Promise<void> {
    try {
      const version = await this.endpointsStore.version();
      if (!force && version === this.version) return;
      this.endpoints = await this.endpointsStore.all();
      this.version = version;
    } catch (error) {
      // Keep the copy we have: Redis being away stops deliveries anyway, and the next tick tries again.
      this.logger.debug(
        { reason: error instanceof Error ? error.message : String(error) },
        'endpoints not reloaded',
      );
    }
  }

  onEmailEvent(event: EmailEvent): void {
    const type = WEBHOOK_EVENT_OF[event.event];
    if (!type) return;
    const targets = this.endpoints.filter(
      (e) => e.events.includes(type) && (e.allServices || e.service === event.service),
    );
    if (targets.length === 0) return;
    this.held.add({
      event,
      type,
      eventId: uuidv7(event.at),
      deliveries: targets.map((endpoint) => ({ id: uuidv7(), webhookId: endpoint.id })),
    });
  }

  /** Records and queues a batch's deliveries; a failure keeps the batch for a retry (its ids make it harmless). */
  private async queueDeliveries(batch: readonly HeldEvent[]): Promise<void> {
    const facts = await this.emailFacts([...new Set(batch.map((held) => held.event.emailId))]);
    const deliveries: NewDelivery[] = [];
    for (const { event, type, eventId, deliveries: targets } of batch) {
      const payload = JSON.stringify(webhookPayload(type, event, facts.get(event.emailId) ?? { to: [] }));
      for (const { id, webhookId } of targets)
        deliveries.push({ id, webhookId, eventId, type, emailId: event.emailId, payload });
    }
    await this.deliveries.createMany(deliveries);
    await this.queue.enqueue(deliveries.map(({ id, webhookId }) => ({ deliveryId: id, webhookId })));
  }

  /** Each email's recipients, status and provider, in one round trip. */
  private async emailFacts(ids: readonly string[]): Promise<Map<string, EmailFacts>> {
    const records = await this.emails.findMany(ids);
    const facts = new Map<string, EmailFacts>();
    ids.forEach((id, i) => {
      const record = records[i];
      if (record instanceof Error) throw record;
      facts.set(id, {
        to: record?.to ?? [],
        ...(record ? { status: record.status } : {}),
        ...(record?.provider ? { provider: record.provider } : {}),
        ...(record?.providerMessageId ? { providerMessageId: record.providerMessageId } : {}),
      });
    });
    return facts;
  }
}
