import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { WEBHOOK_QUEUE } from './queue-names';

/** A webhook job: the delivery it sends and its endpoint. */
export interface WebhookJobData {
  deliveryId: string;
  webhookId: string;
}

/**
 * The wait before the retry after failed attempt `attemptsMade` (1: the first) from WEBHOOK_RETRY_SCHEDULE, plus up to
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
 * the event and counts the attempts: the worker puts a job back itself, Bull neither retries nor fails it);
 * finished jobs are dropped at once, the record keeps the outcome.
 */
@Injectable()
export class WebhookQueue {
  constructor(@InjectQueue(WEBHOOK_QUEUE) readonly queue: Queue) {}

  private options(jobId: string): JobOptions {
    return { jobId, removeOnComplete: true, removeOnFail: true };
  }

  /** Queues deliveries with one round trip; an id already waiting is not queued twice. */
  async enqueue(deliveries: readonly WebhookJobData[]): Promise<void> {
    if (deliveries.length === 0) return;
    await this.queue.addBulk(
      deliveries.map((data) => ({ data: { ...data }, opts: this.options(data.deliveryId) })),
    );
  }

  /**
   * Queues a delivery sent again by hand, under a job id of its own: the job of its last run may not have
   * been removed yet, and Bull would take a second job with the same id for that one.
   */
  async enqueueReplay(data: WebhookJobData, now = Date.now()): Promise<void> {
    await this.queue.add({ ...data }, this.options(`${data.deliveryId}:replay:${now}`));
  }

  /**
   * Sends a job that waits in the delayed set on now. `running`: it is being processed at this moment (it
   * may be on its way back to the delayed set); `gone`: there is no such job any more.
   */
  async wake(jobId: string): Promise<'woken' | 'running' | 'gone'> {
    const job = await this.queue.getJob(jobId);
    if (!job) return 'gone';
    try {
      await job.promote();
      return 'woken';
    } catch (error) {
      // Bull refuses to promote a job that is not delayed: running, or already waiting to run.
      if (await job.isActive()) return 'running';
      if (await job.isDelayed()) throw error;
      return 'woken';
    }
  }
}
