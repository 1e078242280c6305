import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Job, JobOptions, Queue } from 'bull';
import { RedisKeys } from '../redis/redis-keys';
import { PRIORITIES, type Priority } from './queue-names';

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

/** One partition's email queues, one per priority (see RedisKeys: each partition's in a slot of its own). */
export type PartitionQueues = Readonly<Record<Priority, Queue>>;

/** The Nest token of every partition's email queues, indexed by partition. */
export const EMAIL_QUEUES_OF_PARTITIONS = Symbol('EmailQueuesOfPartitions');

/**
 * The producer side of the email queues: one per priority in each partition, an email's job in the queue of
 * its priority in its partition (RedisKeys.partitionOf). A job carries no data: its id is the email's id, and
 * the email itself lives in its record, so Redis holds each message once.
 */
@Injectable()
export class EmailQueue implements OnApplicationShutdown {
  constructor(
    @Inject(EMAIL_QUEUES_OF_PARTITIONS) private readonly partitions: readonly PartitionQueues[],
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Queues emails: per partition and priority, one `add` (one script call) for a lone email, one `addBulk`
   * (one MULTI) otherwise. Throws when any job could not be added, so that the caller can take the emails back.
   */
  async enqueueMany(emails: readonly EmailJob[]): Promise<void> {
    await Promise.all(
      [...this.keys.byPartition(emails, ({ id }) => id)].flatMap(([partition, ofPartition]) =>
        PRIORITIES.map(async (priority) => {
          const queue = this.partitions[partition]![priority];
          const jobs = ofPartition
            .filter((email) => email.priority === priority)
            .map((email) => ({ data: {}, opts: emailJobOptions(email.id, email.delayMs) }));
          if (jobs.length === 1) await queue.add(jobs[0]!.data, jobs[0]!.opts);
          else if (jobs.length > 1) throwIfAnyMissing(await queue.addBulk(jobs), jobs.length);
        }),
      ),
    );
  }

  /** Takes a cancelled email's job out of its queue, if it is still waiting there. */
  async remove(emailId: string, priority: Priority): Promise<void> {
    const job = await this.queueOf(emailId, priority).getJob(emailId);
    // A job a worker holds right now cannot be removed; its claim sees the cancellation and skips it.
    await job?.remove().catch(() => undefined);
  }

  /**
   * Where each email's job stands (see EmailJobState): four reads per email, in one round trip per partition
   * (a pipeline's keys must share a node on a cluster, and a partition's share a slot).
   */
  async jobStates(emails: readonly { id: string; priority: Priority }[]): Promise<EmailJobState[]> {
    const states = new Map<string, EmailJobState>();
    await Promise.all(
      [...this.keys.byPartition(emails, ({ id }) => id)].map(async ([partition, ofPartition]) => {
        const queues = this.partitions[partition]!;
        const pipeline = queues.high.client.pipeline();
        for (const { id, priority } of ofPartition) {
          const queue = queues[priority];
          const jobKey = queue.toKey(id);
          pipeline.exists(jobKey).exists(`${jobKey}:lock`);
          pipeline.zscore(queue.toKey('completed'), id).zscore(queue.toKey('failed'), id);
        }
        const results = (await pipeline.exec()) ?? [];
        const failure = results.find(([error]) => error)?.[0];
        if (failure) throw failure;
        ofPartition.forEach(({ id }, i) => {
          const [exists, locked, completed, failed] = results
            .slice(4 * i, 4 * i + 4)
            .map(([, value]) => value);
          if (locked === 1) states.set(id, 'locked');
          else if (completed !== null || failed !== null) states.set(id, 'finished');
          else states.set(id, exists === 1 ? 'pending' : 'missing');
        });
      }),
    );
    return emails.map(({ id }) => states.get(id)!);
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
    const queue = this.queueOf(emailId, priority);
    if (state === 'finished') await (await queue.getJob(emailId))?.remove();
    await queue.add({}, emailJobOptions(emailId, 0));
    return state;
  }

  /**
   * The queues in tiers, from the highest priority to the lowest, each tier holding that priority's queue of
   * every partition: the order in which workers take jobs (see PriorityDispatcher).
   */
  inTiers(): Queue[][] {
    return PRIORITIES.map((priority) => this.partitions.map((queues) => queues[priority]));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      this.inTiers()
        .flat()
        .map((queue) => queue.close()),
    );
  }

  private queueOf(emailId: string, priority: Priority): Queue {
    return this.partitions[this.keys.partitionOf(emailId)]![priority];
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
