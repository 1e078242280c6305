import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { AppConfig } from '../config/app-config';
import { WEBHOOK_QUEUE } from './queue-names';

export const WEBHOOK_BACKOFF_STRATEGY = 'webhook-schedule';

/**
 * The wait before retry `attemptsMade` (1 after the first failure) from WEBHOOK_RETRY_SCHEDULE, plus up to
 * 10 % jitter so that the deliveries a receiver's outage held back do not all return in the same second.
 */
export function webhookRetryDelayMs(
  attemptsMade: number,
  schedule: readonly number[],
  random: () => number = Math.random,
): number {
  const base = schedule[Math.min(attemptsMade, schedule.length) - 1] ?? 0;
  return Math.round(base * (1 + random() * 0.1));
}

/**
 * The producer side of the webhook delivery queue. A job carries only its delivery's id (the record holds
 * the event); finished jobs are dropped at once, the record keeps the outcome.
 */
@Injectable()
export class WebhookQueue {
  private readonly attempts: number;

  constructor(
    @InjectQueue(WEBHOOK_QUEUE) readonly queue: Queue,
    config: AppConfig,
  ) {
    this.attempts = config.webhooks.retryDelaysMs.length + 1;
  }

  private options(jobId: string): JobOptions {
    return {
      jobId,
      attempts: this.attempts,
      backoff: { type: WEBHOOK_BACKOFF_STRATEGY },
      removeOnComplete: true,
      removeOnFail: true,
    };
  }

  /** Queues deliveries with one round trip; an id already waiting is not queued twice. */
  async enqueue(deliveryIds: readonly string[]): Promise<void> {
    if (deliveryIds.length === 0) return;
    await this.queue.addBulk(
      deliveryIds.map((deliveryId) => ({ data: { deliveryId }, opts: this.options(deliveryId) })),
    );
  }

  /**
   * Queues a delivery sent again by hand, under a job id of its own: the job of its last run may not have
   * been removed yet, and Bull would take a second job with the same id for that one.
   */
  async enqueueReplay(deliveryId: string, now = Date.now()): Promise<void> {
    await this.queue.add({ deliveryId }, this.options(`${deliveryId}:replay:${now}`));
  }
}
