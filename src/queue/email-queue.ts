import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Job, JobOptions, Queue } from 'bull';
import { EMAIL_QUEUES, PRIORITIES, type Priority } from './queue-names';

/** Job settings: finished jobs are trimmed by count and age so Bull's sets never grow without bound. */
export const COMPLETED_JOBS_KEPT = { age: 3600, count: 1000 };
export const FAILED_JOBS_KEPT = { age: 7 * 86_400, count: 10_000 };

/**
 * An email job's options. No `attempts` and no backoff: Bull never retries or fails an email job on its own
 * account. The email's record counts attempts and decides when it is dead; the worker puts a job back with
 * the record's backoff (see PriorityDispatcher), so that errors of our own (Redis timing out in the handler)
 * cannot spend Bull's attempts and leave a job failed under an email that is still `retrying`.
 */
export function emailJobOptions(emailId: string, delayMs: number): JobOptions {
  return {
    jobId: emailId,
    removeOnComplete: COMPLETED_JOBS_KEPT,
    removeOnFail: FAILED_JOBS_KEPT,
    ...(delayMs > 0 ? { delay: delayMs } : {}),
  };
}

/**
 * Where an email's job stands: `pending` (waiting, delayed, or active with no worker's lock: Bull hands it to
 * another worker), `locked` (a worker holds it), `finished` (in Bull's completed or failed set: it will not
 * run again) or `missing` (no job).
 */
export type EmailJobState = 'pending' | 'locked' | 'finished' | 'missing';

/** An email to queue: its id names its job. */
export interface EmailJob {
  id: string;
  priority: Priority;
  delayMs: number;
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

  /**
   * Queues emails: one `add` (one script call) for a lone email of its priority, one `addBulk` (one MULTI)
   * per priority otherwise. Throws when any job could not be added, so that the caller can take the emails back.
   */
  async enqueueMany(emails: readonly EmailJob[]): Promise<void> {
    await Promise.all(
      PRIORITIES.map(async (priority) => {
        const queue = this.byPriority[priority];
        const jobs = emails
          .filter((email) => email.priority === priority)
          .map((email) => ({ data: {}, opts: emailJobOptions(email.id, email.delayMs) }));
        if (jobs.length === 1) await queue.add(jobs[0]!.data, jobs[0]!.opts);
        else if (jobs.length > 1) throwIfAnyMissing(await queue.addBulk(jobs), jobs.length);
      }),
    );
  }

  /** Takes a cancelled email's job out of its queue, if it is still waiting there. */
  async remove(emailId: string, priority: Priority): Promise<void> {
    const job = await this.byPriority[priority].getJob(emailId);
    // A job a worker holds right now cannot be removed; its claim sees the cancellation and skips it.
    await job?.remove().catch(() => undefined);
  }

  /** Where each email's job stands (see EmailJobState): four reads per email, all in one round trip. */
  async jobStates(emails: readonly { id: string; priority: Priority }[]): Promise<EmailJobState[]> {
    if (emails.length === 0) return [];
    const client = this.byPriority.high.client;
    const pipeline = client.pipeline();
    for (const { id, priority } of emails) {
      const queue = this.byPriority[priority];
      const jobKey = queue.toKey(id);
      pipeline.exists(jobKey).exists(`${jobKey}:lock`);
      pipeline.zscore(queue.toKey('completed'), id).zscore(queue.toKey('failed'), id);
    }
    const results = (await pipeline.exec()) ?? [];
    const failure = results.find(([error]) => error)?.[0];
    if (failure) throw failure;
    return emails.map((_, i) => {
      const [exists, locked, completed, failed] = results.slice(4 * i, 4 * i + 4).map(([, value]) => value);
      if (locked === 1) return 'locked';
      if (completed !== null || failed !== null) return 'finished';
      return exists === 1 ? 'pending' : 'missing';
    });
  }

  /**
   * Makes sure a job will take the email: a pending or locked job is left as it is; a finished one is removed
   * (Bull would take an add under a known id for a duplicate and do nothing) and a fresh job added, at once.
   * Returns what it found. Each step can be repeated: a failure part way leaves no job, which the next call
   * (or the reconciler) mends.
   */
  async ensureJob(emailId: string, priority: Priority): Promise<EmailJobState> {
    const [state] = (await this.jobStates([{ id: emailId, priority }])) as [EmailJobState];
    if (state === 'pending' || state === 'locked') return state;
    const queue = this.byPriority[priority];
    if (state === 'finished') await (await queue.getJob(emailId))?.remove();
    await queue.add({}, emailJobOptions(emailId, 0));
    return state;
  }

  /**
   * The queues in tiers, from the highest priority to the lowest: the order in which workers take jobs (see
   * PriorityDispatcher). Each tier holds one queue per Redis partition; there is one partition today.
   */
  inTiers(): Queue[][] {
    return PRIORITIES.map((priority) => [this.byPriority[priority]]);
  }
}

/**
 * `addBulk` sends its adds in one MULTI, whose replies ioredis returns without throwing when a command in it
 * failed: such a job comes back without an id.
 */
function throwIfAnyMissing(added: readonly Job[], expected: number): void {
  const missing = added.filter((job) => job.id === undefined || job.id === null).length;
  if (added.length !== expected || missing > 0)
    throw new Error(`${missing || expected - added.length} of ${expected} jobs could not be queued`);
}
