import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit.writer';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import type { JobOutcome } from '../queue/priority-dispatcher';
import { webhookRetryDelayMs } from '../queue/webhook-queue';
import { TargetPolicy } from './target-policy';
import { WebhookDeliveriesStore, type WebhookDelivery } from './webhook-deliveries.store';
import { WebhookEndpointGate, type AttemptKind } from './webhook-endpoint-gate';
import { WebhookEndpointsStore, type WebhookEndpoint } from './webhook-endpoints.store';
import { WebhookSender, type SendResult } from './webhook-sender';

/**
 * A job waiting in line for a slot is woken by whoever frees one; it looks again on its own after this long
 * in case that wake was lost (a process killed at that moment). Held (paused endpoint): resuming wakes it.
 */
const WAITING_RECHECK_MS = 5 * 60_000;
const HELD_RECHECK_MS = 30 * 60_000;

/**
 * Delivers webhook events, one attempt at a time. Each attempt first takes one of its endpoint's
 * WEBHOOK_ENDPOINT_CONCURRENCY slots (see WebhookEndpointGate): a delivery that finds none free, or its
 * endpoint paused, waits in Bull's delayed set without spending an attempt or a worker slot, so that one
 * tenant's hanging receivers cannot take every worker slot. Each attempt is signed anew (a fresh timestamp,
 * the same event id); a 2xx ends the delivery, anything else is retried on the schedule until it runs out and
 * the delivery is `failed`.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly sender: WebhookSender;
  private readonly retryDelaysMs: readonly number[];

  constructor(
    private readonly endpoints: WebhookEndpointsStore,
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly gate: WebhookEndpointGate,
    private readonly audit: AuditWriter,
    private readonly metrics: PrometheusMetrics,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('webhooks');
    this.sender = new WebhookSender(new TargetPolicy(config.webhooks.targets));
    this.retryDelaysMs = config.webhooks.retryDelaysMs;
  }

  /**
   * One attempt of a delivery, as job `jobId` of the webhook queue: what the job should do next (done, a
   * retry after the schedule's wait, or a wait for a slot that spends no attempt).
   */
  async attempt(job: { jobId: string; deliveryId: string; webhookId: string }): Promise<JobOutcome> {
    const { jobId, deliveryId } = job;
    const delivery = await this.deliveries.find(deliveryId, true);
    // Expired, or already settled (a job run twice after a worker died): nothing to send.
    if (!delivery || delivery.status !== 'pending' || !delivery.payload) {
      await this.gate.release(delivery?.webhookId ?? job.webhookId, jobId, 'other');
      return { kind: 'done', result: 'skipped' };
    }
    let target: { endpoint: WebhookEndpoint; secret: string } | undefined;
    try {
      target = await this.endpoints.findWithSecret(delivery.webhookId);
    } catch (error) {
      // Not the receiver's doing (a secret sealed with another WEBHOOK_SECRETS_KEY, Redis away): an
      // attempt like any failed one, so that the last one still ends the delivery with its reason.
      return this.recordOutcome(delivery, { ok: false, error: `not sent: ${describe(error)}` });
    }
    if (!target) {
      await this.gate.forget(delivery.webhookId);
      return { kind: 'done', result: 'skipped: webhook deleted' };
    }
    const admission = await this.gate.admit(delivery.webhookId, jobId, delivery.createdAt);
    if (admission !== 'admitted') {
      const waitMs = admission === 'held' ? HELD_RECHECK_MS : WAITING_RECHECK_MS;
      return { kind: 'wait', untilMs: Date.now() + waitMs };
    }
    const result = await this.send(target, delivery);
    await this.release(target.endpoint, jobId, kindOf(result));
    return this.recordOutcome(delivery, result);
  }

  /** Closes the sender's connections, once no attempt runs any more. */
  close(): void {
    this.sender.close();
  }

  private async send(
    target: { endpoint: WebhookEndpoint; secret: string },
    delivery: WebhookDelivery,
  ): Promise<SendResult> {
    try {
      return await this.sender.send(target.endpoint.url, target.secret, delivery.eventId, delivery.payload!);
    } catch (error) {
      return { ok: false, error: `not sent: ${describe(error)}` };
    }
  }

  /**
   * Gives the slot back, and tells of the pause when this attempt paused the endpoint. A failure is logged,
   * not thrown: the attempt's outcome must still be recorded, and the slot lapses on its own.
   */
  private async release(endpoint: WebhookEndpoint, jobId: string, kind: AttemptKind): Promise<void> {
    let pausedAt: number | undefined;
    try {
      pausedAt = await this.gate.release(endpoint.id, jobId, kind);
    } catch (error) {
      this.logger.warn({ webhookId: endpoint.id, reason: describe(error) }, 'webhook slot not given back');
      return;
    }
    if (pausedAt === undefined) return;
    const timeouts = this.config.webhooks.pauseAfterTimeouts;
    this.logger.warn(
      { webhookId: endpoint.id, service: endpoint.service, timeouts },
      'webhook endpoint paused: it keeps timing out; its deliveries are held until it is resumed',
    );
    this.metrics.recordWebhookEndpointPaused(endpoint.service);
    this.audit.record({
      at: new Date(pausedAt).toISOString(),
      event: 'webhook_paused',
      service: endpoint.service,
      emailId: null,
      requestId: null,
      detail: { webhookId: endpoint.id, reason: 'timeouts', timeouts },
    });
  }

  /**
   * Records an attempt and decides what follows from the delivery's own count of attempts (not Bull's, which
   * only errors of ours would move): a retry after the schedule's wait for this attempt, or the end.
   */
  private async recordOutcome(delivery: WebhookDelivery, result: SendResult): Promise<JobOutcome> {
    if (result.ok) {
      await this.deliveries.recordAttempt(delivery, { ok: true, responseStatus: result.status });
      this.metrics.recordWebhookAttempt('ok');
      return { kind: 'done', result: 'succeeded' };
    }
    const attempt = delivery.attempts - delivery.attemptsBeforeReplay + 1;
    const refused = result.error.startsWith('refused:');
    const delayMs = refused ? undefined : retryDelayAfter(attempt, this.retryDelaysMs);
    const nextAttemptAt = delayMs === undefined ? undefined : Date.now() + delayMs;
    await this.deliveries.recordAttempt(delivery, {
      ok: false,
      error: result.error,
      ...(result.status !== undefined ? { responseStatus: result.status } : {}),
      ...(nextAttemptAt ? { nextAttemptAt } : {}),
    });
    this.metrics.recordWebhookAttempt(delayMs === undefined ? 'dead' : 'failed');
    const fields = { webhookId: delivery.webhookId, attempt, reason: result.error };
    if (delayMs === undefined) {
      this.logger.warn(fields, 'webhook delivery failed: no more attempts');
      return { kind: 'done', result: 'failed' };
    }
    this.logger.info(fields, 'webhook delivery attempt failed; will retry');
    return { kind: 'retry', reason: result.error, delayMs };
  }
}

/** The wait before the retry that follows failed attempt `attempt` (1: the first), or undefined after the last. */
function retryDelayAfter(attempt: number, schedule: readonly number[]): number | undefined {
  return attempt <= schedule.length ? webhookRetryDelayMs(attempt, schedule) : undefined;
}

/** What an attempt tells of the endpoint's health: only an answer, or its absence in time, counts. */
function kindOf(result: SendResult): AttemptKind {
  if (result.ok || result.status !== undefined) return 'answered';
  return result.timedOut ? 'timeout' : 'other';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
