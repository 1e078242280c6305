import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { EMAIL_QUEUES, PRIORITIES, type Priority } from './queue-names';

/** Job settings: finished jobs are trimmed by count and age so Bull's sets never grow without bound. */
export const COMPLETED_JOBS_KEPT = { age: 3600, count: 1000 };
export const FAILED_JOBS_KEPT = { age: 7 * 86_400, count: 10_000 };
export const BACKOFF_STRATEGY = 'jittered-exponential';

export function emailJobOptions(emailId: string, delayMs: number, maxAttempts: number): JobOptions {
  return {
    jobId: emailId,
    attempts: maxAttempts,
    backoff: { type: BACKOFF_STRATEGY },
    removeOnComplete: COMPLETED_JOBS_KEPT,
    removeOnFail: FAILED_JOBS_KEPT,
    ...(delayMs > 0 ? { delay: delayMs } : {}),
  };
}

/**
 * The producer side of the email queues. A job carries no data: its id is the email's id, and the email
 * itself lives in its record, so Redis holds each message once.
 */
@Injectable()
export class EmailQueue {
  private readonly byPriority: Readonly<Record<Priority, Queue>>;

  constructor(
    @InjectQueue(EMAIL_QUEUES.high) high: Queue,
    @InjectQueue(EMAIL_QUEUES.medium) medium: Queue,
    @InjectQueue(EMAIL_QUEUES.low) low: Queue,
  ) {
    this.byPriority = { high, medium, low };
  }

  async enqueue(emailId: string, priority: Priority, delayMs: number, maxAttempts: number): Promise<void> {
    await this.byPriority[priority].add({}, emailJobOptions(emailId, delayMs, maxAttempts));
  }

  /** Queues many emails with one `addBulk` (one round trip) per priority. */
  async enqueueMany(
    emails: readonly { id: string; priority: Priority; delayMs: number }[],
    maxAttempts: number,
  ): Promise<void> {
    await Promise.all(
      PRIORITIES.map((priority) => {
        const jobs = emails
          .filter((email) => email.priority === priority)
          .map((email) => ({ data: {}, opts: emailJobOptions(email.id, email.delayMs, maxAttempts) }));
        return jobs.length > 0 ? this.byPriority[priority].addBulk(jobs) : Promise.resolve([]);
      }),
    );
  }

  /** Takes a cancelled email's job out of its queue, if it is still waiting there. */
  async remove(emailId: string, priority: Priority): Promise<void> {
    const job = await this.byPriority[priority].getJob(emailId);
    // A job a worker holds right now cannot be removed; its claim sees the cancellation and skips it.
    await job?.remove().catch(() => undefined);
  }

  /**
   * Queues an email again under its own id (a dead letter retried). Bull keeps finished jobs for a while and
   * would take an add with a known id for a duplicate, so the old job is removed first.
   */
  async requeue(emailId: string, priority: Priority, maxAttempts: number): Promise<void> {
    const queue = this.byPriority[priority];
    const previous = await queue.getJob(emailId);
    await previous?.remove();
    await queue.add({}, emailJobOptions(emailId, 0, maxAttempts));
  }

  /** The queues from the highest priority to the lowest: the order in which workers take jobs. */
  inPriorityOrder(): Queue[] {
    return PRIORITIES.map((priority) => this.byPriority[priority]);
  }
}
