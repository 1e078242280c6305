import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit.writer';
import type { Caller } from '../auth/caller';
import { decodeCursor, encodeCursor, nextCursorOf } from '../common/cursor';
import { UUID_PATTERN } from '../common/ids';
import { notFound, ProblemError } from '../common/problem-error';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { WebhookQueue } from '../queue/webhook-queue';
import type {
  CreatedWebhookDto,
  CreateWebhookDto,
  DeliveryQueryDto,
  PageQueryDto,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookPageDto,
} from './dto/webhook.dto';
import { TargetPolicy } from './target-policy';
import { WebhookDeliveriesStore, type WebhookDelivery } from './webhook-deliveries.store';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEndpointGate, type EndpointHealth } from './webhook-endpoint-gate';
import { WebhookEndpointsStore, type WebhookEndpoint } from './webhook-endpoints.store';
import { newWebhookSecret } from './webhook-signature';

const DEFAULT_PAGE = 50;
/** Endpoints one service may have: each event is sent to every one of them. */
export const MAX_WEBHOOKS_PER_SERVICE = 20;

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** Webhook endpoints and their deliveries through the API: each service sees its own; admin sees all. */
@Injectable()
export class WebhooksService {
  private readonly targets: TargetPolicy;

  constructor(
    private readonly endpoints: WebhookEndpointsStore,
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly dispatcher: WebhookDispatcher,
    private readonly queue: WebhookQueue,
    private readonly gate: WebhookEndpointGate,
    private readonly audit: AuditWriter,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.logger.setContext('webhooks');
    this.targets = new TargetPolicy(config.webhooks.targets);
  }

  async create(caller: Caller, dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    const refused = this.targets.checkUrl(dto.url);
    if (refused)
      throw new ProblemError(400, 'validation-error', `The webhook URL is refused: ${refused}.`, {
        errors: [{ field: 'url', message: refused }],
      });
    const own = (await this.endpoints.all()).filter((endpoint) => endpoint.service === caller.service);
    if (own.length >= MAX_WEBHOOKS_PER_SERVICE)
      throw new ProblemError(
        409,
        'conflict',
        `A service may have at most ${MAX_WEBHOOKS_PER_SERVICE} webhooks; delete one it no longer uses.`,
      );
    const secret = newWebhookSecret();
    const endpoint = await this.endpoints.create(
      {
        service: caller.service,
        allServices: caller.isAdmin,
        url: dto.url,
        events: [...dto.events],
        ...(dto.description ? { description: dto.description } : {}),
      },
      secret,
    );
    // This process hears the new endpoint at once; the others within ENDPOINTS_REFRESH_MS.
    await this.dispatcher.refresh(true);
    this.logger.info({ webhookId: endpoint.id, events: endpoint.events }, 'webhook created');
    return { ...toDto(endpoint), secret };
  }

  async list(caller: Caller, query: PageQueryDto): Promise<WebhookPageDto> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const after = decodeCursor(query.cursor);
    // Newest first, as every list of the API; a position (createdAt, id) pages it.
    const visible = (await this.endpoints.all())
      .filter((endpoint) => caller.isAdmin || endpoint.service === caller.service)
      .reverse()
      .filter((e) => !after || e.createdAt < after.score || (e.createdAt === after.score && e.id < after.id));
    const items = visible.slice(0, limit);
    const last = items[items.length - 1];
    const health = await this.gate.health(items.map((endpoint) => endpoint.id));
    return {
      items: items.map((endpoint) => toDto(endpoint, health.get(endpoint.id))),
      nextCursor: visible.length > limit && last ? encodeCursor(last.createdAt, last.id) : null,
    };
  }

  async get(caller: Caller, id: string): Promise<WebhookDto> {
    const endpoint = await this.visible(caller, id);
    return toDto(endpoint, (await this.gate.health([id])).get(id));
  }

  async remove(caller: Caller, id: string): Promise<void> {
    await this.visible(caller, id);
    // The lists first: should the deletion stop half way, the endpoint is still there to be deleted again.
    await this.deliveries.forgetEndpoint(id);
    await this.endpoints.remove(id);
    await this.gate.forget(id);
    await this.dispatcher.refresh(true);
    this.logger.info({ webhookId: id }, 'webhook deleted');
  }

  async listDeliveries(caller: Caller, id: string, query: DeliveryQueryDto): Promise<WebhookDeliveryPageDto> {
    await this.visible(caller, id);
    const limit = query.limit ?? DEFAULT_PAGE;
    const page = await this.deliveries.page(id, query.status, limit, decodeCursor(query.cursor));
    return { items: page.items.map(toDeliveryDto), nextCursor: nextCursorOf(page.next) };
  }

  /** Sends a failed delivery again, with a fresh schedule of retries and the same event id. */
  async retryDelivery(caller: Caller, id: string, deliveryId: string): Promise<WebhookDeliveryDto> {
    await this.visible(caller, id);
    const delivery = UUID_PATTERN.test(deliveryId) ? await this.deliveries.find(deliveryId) : undefined;
    if (!delivery || delivery.webhookId !== id) throw notFound(`Delivery ${deliveryId.slice(0, 64)}`);
    if (!(await this.deliveries.reopen(delivery)))
      throw new ProblemError(
        409,
        'conflict',
        `Delivery ${deliveryId} is ${delivery.status}: only a failed delivery can be sent again.`,
      );
    await this.queue.enqueueReplay({ deliveryId, webhookId: id });
    this.logger.info({ webhookId: id, deliveryId }, 'webhook delivery queued again');
    return toDeliveryDto((await this.deliveries.find(deliveryId)) ?? { ...delivery, status: 'pending' });
  }

  /**
   * Resumes a paused webhook: its held deliveries go out again, oldest first, as its slots allow. Resuming
   * one that is not paused changes nothing (the answer shows it as it is).
   */
  async resume(caller: Caller, id: string, requestId?: string): Promise<WebhookDto> {
    const endpoint = await this.visible(caller, id);
    const resumed = await this.gate.resume(id);
    if (resumed) {
      this.logger.info({ webhookId: id, heldDeliveries: resumed.held }, 'webhook endpoint resumed');
      this.audit.record({
        at: new Date().toISOString(),
        event: 'webhook_resumed',
        service: endpoint.service,
        emailId: null,
        requestId: requestId ?? null,
        detail: { webhookId: id, heldDeliveries: resumed.held, by: caller.service },
      });
    }
    return toDto(endpoint, (await this.gate.health([id])).get(id));
  }

  /** The endpoint, when the caller may see it; 404 otherwise, as if it did not exist. */
  private async visible(caller: Caller, id: string): Promise<WebhookEndpoint> {
    if (!UUID_PATTERN.test(id)) throw notFound(`Webhook ${id.slice(0, 64)}`);
    const endpoint = await this.endpoints.find(id);
    if (!endpoint || (!caller.isAdmin && endpoint.service !== caller.service))
      throw notFound(`Webhook ${id}`);
    return endpoint;
  }
}

function toDto(endpoint: WebhookEndpoint, health: EndpointHealth = {}): WebhookDto {
  return {
    id: endpoint.id,
    url: endpoint.url,
    events: endpoint.events,
    description: endpoint.description ?? null,
    service: endpoint.service,
    allServices: endpoint.allServices,
    createdAt: new Date(endpoint.createdAt).toISOString(),
    status: health.pausedAt === undefined ? 'active' : 'paused',
    pausedAt: iso(health.pausedAt),
    pausedReason: health.pausedReason ?? null,
  };
}

function toDeliveryDto(delivery: WebhookDelivery): WebhookDeliveryDto {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    type: delivery.type,
    emailId: delivery.emailId,
    status: delivery.status,
    attempts: delivery.attempts,
    createdAt: new Date(delivery.createdAt).toISOString(),
    lastAttemptAt: iso(delivery.lastAttemptAt),
    nextAttemptAt: iso(delivery.nextAttemptAt),
    responseStatus: delivery.responseStatus ?? null,
    lastError: delivery.lastError ?? null,
  };
}
