import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { WebhookQueue } from '../queue/webhook-queue';
import { TargetPolicy } from './target-policy';
import { WebhookDeliveriesStore } from './webhook-deliveries.store';
import { WebhookEndpointsStore } from './webhook-endpoints.store';
import { WebhookSender, type SendResult } from './webhook-sender';

/** Thrown to hand a failed attempt back to Bull, which retries it on WEBHOOK_RETRY_SCHEDULE. */
class RetryLater extends Error {}

/**
 * The worker role's webhook loop: WEBHOOK_CONCURRENCY deliveries at a time from the webhook queue, apart from
 * the email queues, so that a slow or failing receiver holds up only its own deliveries. Each attempt is
 * signed anew (a fresh timestamp, the same event id); a 2xx ends the delivery, anything else is retried on
 * the schedule until it runs out and the delivery is `failed`.
 */
@Injectable()
export class WebhookDeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly sender: WebhookSender;
  private readonly retryDelaysMs: readonly number[];

  constructor(
    private readonly webhookQueue: WebhookQueue,
    private readonly endpoints: WebhookEndpointsStore,
    private readonly deliveries: WebhookDeliveriesStore,
    private readonly metrics: PrometheusMetrics,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('webhooks');
    this.sender = new WebhookSender(new TargetPolicy(config.webhooks.targets));
    this.retryDelaysMs = config.webhooks.retryDelaysMs;
  }

  onApplicationBootstrap(): void {
    this.webhookQueue.queue
      .process(this.config.webhooks.concurrency, (job: Job<{ deliveryId?: string }>) => this.attempt(job))
      .catch((error: unknown) =>
        // Bull's loop failed to start (Redis away at that moment); it is retried by Bull on reconnect.
        this.logger.error(
          { reason: error instanceof Error ? error.message : String(error) },
          'webhook loop failed',
        ),
      );
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Stop taking deliveries and let those in flight finish (each is bounded by its 10 s timeout).
    await Promise.race([
      this.webhookQueue.queue.pause(true),
      new Promise((resolve) => setTimeout(resolve, this.config.shutdownTimeoutMs).unref()),
    ]);
    this.sender.close();
  }

  private async attempt(job: Job<{ deliveryId?: string }>): Promise<string> {
    // Jobs queued before replays had their own ids carry none: their job id is the delivery's.
    const deliveryId = job.data.deliveryId ?? String(job.id);
    return this.logger.runInContext(
      async () => {
        const delivery = await this.deliveries.find(deliveryId, true);
        // Expired, or already settled (a job run twice after a worker died): nothing to send.
        if (!delivery || delivery.status !== 'pending' || !delivery.payload) return 'skipped';
        let result: SendResult;
        try {
          const target = await this.endpoints.findWithSecret(delivery.webhookId);
          if (!target) return 'skipped: webhook deleted';
          result = await this.sender.send(
            target.endpoint.url,
            target.secret,
            delivery.eventId,
            delivery.payload,
          );
        } catch (error) {
          // Not the receiver's doing (a secret sealed with another WEBHOOK_SECRETS_KEY, Redis away): an
          // attempt like any failed one, so that the last one still ends the delivery with its reason.
          result = {
            ok: false,
            error: `not sent: ${error instanceof Error ? error.message : String(error)}`,
          };
        }
        if (result.ok) {
          await this.deliveries.recordAttempt(delivery, { ok: true, responseStatus: result.status });
          this.metrics.recordWebhookAttempt('ok');
          return 'succeeded';
        }
        const refused = result.error.startsWith('refused:');
        const retriesLeft = refused ? 0 : (job.opts.attempts ?? 1) - job.attemptsMade - 1;
        const nextAttemptAt =
          retriesLeft > 0 ? Date.now() + this.retryDelaysMs[job.attemptsMade]! : undefined;
        await this.deliveries.recordAttempt(delivery, {
          ok: false,
          error: result.error,
          ...(result.status !== undefined ? { responseStatus: result.status } : {}),
          ...(nextAttemptAt ? { nextAttemptAt } : {}),
        });
        this.metrics.recordWebhookAttempt(nextAttemptAt ? 'failed' : 'dead');
        const fields = { webhookId: delivery.webhookId, attempt: job.attemptsMade + 1, reason: result.error };
        if (!nextAttemptAt) {
          this.logger.warn(fields, 'webhook delivery failed: no more attempts');
          return 'failed';
        }
        this.logger.info(fields, 'webhook delivery attempt failed; will retry');
        throw new RetryLater(result.error);
      },
      { bindings: { deliveryId } },
    );
  }
}
