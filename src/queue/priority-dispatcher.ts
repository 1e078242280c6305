import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Queue } from 'bull';

/**
 * What became of a job: done, or put back to run again, after a failed attempt (`retry`, after `delayMs`) or
 * a wait that was no attempt (`wait`, until a time). Neither spends one of Bull's attempts: whoever handles
 * the job keeps count of its own.
 */
export type JobOutcome =
  | { kind: 'done'; result: string }
  | { kind: 'retry'; reason: string; delayMs: number }
  | { kind: 'wait'; untilMs: number };

export type JobHandler = (job: Job) => Promise<JobOutcome>;

/** `Job.moveToDelayed` exists in Bull 4 (it is how retries wait) but is missing from its type declarations. */
type BullJob = Job & { moveToDelayed(timestampMs: number, ignoreLock?: boolean): Promise<void> };

/**
 * The parts of Bull 4's Queue the dispatcher drives beyond its public API. Bull processes each queue on its
 * own and orders nothing across queues, so strict priority needs a fetch loop of its own; these are the
 * methods Bull's `process()` uses for that (bull is pinned to 4.x, whose code is frozen).
 */
interface BullQueueInternals extends Queue {
  /** Subscribes to delayed-job events and starts the timer that promotes due delayed jobs. */
  _initProcess(): Promise<void>;
  /** Moves the next waiting job to active under this worker's lock, or returns null when there is none. */
  moveToActive(): Promise<Job | null>;
  /** Returns jobs whose worker died (lock expired) to their waiting list. */
  moveUnlockedJobsToWait(): Promise<void>;
  startMoveUnlockedJobsToWait(): void;
  /** A Job of a fetched job's raw form (null for none). */
  nextJobFromJobData(jobData: unknown, jobId: string): Job | null;
  settings: { lockDuration: number; lockRenewTime: number };
}

export interface DispatcherLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface DispatcherOptions {
  concurrency: number;
  /** How often an idle slot looks again even without a "job waiting" event (events can be missed). */
  idlePollMs?: number;
  /** How long to wait before fetching again after Redis failed. */
  errorBackoffMs?: number;
  /**
   * How long a job whose handler threw (an error of ours, such as Redis timing out) waits before it runs
   * again; default errorBackoffMs. It is put back like any retry, however often it happens: Bull never
   * fails it for that.
   */
  handlerErrorDelayMs?: () => number;
}

/**
 * Queues grouped by priority, highest first: each tier holds the queues of one priority, one per partition.
 */
export type QueueTiers = readonly (readonly Queue[])[];

/**
 * Runs up to `concurrency` jobs at once from queues grouped in tiers (see QueueTiers). Every free slot takes
 * from the first tier with a waiting job, so no lower-priority job starts while a higher one waits, whichever
 * partition either is in. Within a tier, fetches start at the queue after the last one that gave a job: one
 * partition's backlog must not starve the others of the same priority.
 *
 * A fetch costs one Redis round trip: queues known to be empty are skipped until Bull announces a new waiting
 * job on them, and a completed job fetches its successor in the same script call that completes it (as Bull's
 * own `process()` does), so a busy queue costs no round trip per job for fetching. That call can only fetch
 * from the job's own queue, though, and a worker that kept chaining there would drain one partition before
 * ever looking at the next. So it chains only while no queue of a higher tier and no other queue of its own
 * tier may have work: a single busy queue keeps its one round trip per job, and as soon as another queue of
 * the tier is announced, completions go back through the rotation (two round trips per job, the price of
 * fairness while several partitions are busy). Announcements travel by pub/sub and can be missed: a queue
 * wrongly known empty then waits, like a higher tier would, until a slot runs out of work and looks everywhere.
 *
 * Each job keeps its Bull lock renewed while it runs and ends in one of three ways (see JobOutcome) through
 * Bull's Job methods; none of them is `moveToFailed`, so Bull never gives up on a job before its handler does.
 */
export class PriorityDispatcher {
  /** Every queue, tier after tier; the arrays below are indexed alike. */
  private readonly queues: BullQueueInternals[];
  private readonly tierOf: number[];
  private readonly mayHaveWork: boolean[];
  private readonly announcements: number[];
  /** Per tier, the indexes of its queues in `queues`, and where its next fetch starts among them. */
  private readonly indexesByTier: number[][];
  private readonly nextInTier: number[];
  private readonly slots: Promise<void>[] = [];
  private readonly idlePollMs: number;
  private readonly errorBackoffMs: number;
  private readonly handlerErrorDelayMs: () => number;
  private running = false;
  /** When a slot last polled every queue, and whether its round of fetches is on (see waitForWork). */
  private lastPollAt = 0;
  private polling = false;
  private inFlight = 0;
  private wakeIdleSlots: () => void = () => undefined;
  private workAnnounced: Promise<void> = Promise.resolve();

  constructor(
    tiers: QueueTiers,
    private readonly handler: JobHandler,
    private readonly options: DispatcherOptions,
    private readonly log: DispatcherLog,
  ) {
    this.queues = tiers.flat() as BullQueueInternals[];
    this.tierOf = tiers.flatMap((tier, t) => tier.map(() => t));
    let index = 0;
    this.indexesByTier = tiers.map((tier) => tier.map(() => index++));
    this.nextInTier = tiers.map(() => 0);
    this.mayHaveWork = this.queues.map(() => true);
    this.announcements = this.queues.map(() => 0);
    this.idlePollMs = options.idlePollMs ?? 1000;
    this.errorBackoffMs = options.errorBackoffMs ?? 1000;
    this.handlerErrorDelayMs = options.handlerErrorDelayMs ?? (() => this.errorBackoffMs);
    this.resetIdleSignal();
  }

  get activeJobs(): number {
    return this.inFlight;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async start(): Promise<void> {
    for (const [index, queue] of this.queues.entries()) {
      queue.on('global:waiting', () => this.announce(index));
      await queue._initProcess();
      await queue.moveUnlockedJobsToWait();
      queue.startMoveUnlockedJobsToWait();
    }
    this.running = true;
    for (let slot = 0; slot < this.options.concurrency; slot++) this.slots.push(this.runSlot());
  }

  /**
   * Stops taking jobs and waits up to `timeoutMs` for the running ones. Returns whether all finished; the
   * ones that did not keep their Bull lock until it expires, then return to the queue for another worker.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    this.running = false;
    this.wakeIdleSlots();
    const finished = Promise.all(this.slots).then(() => true);
    return Promise.race([finished, sleep(timeoutMs, false, { ref: false })]);
  }

  private announce(index: number): void {
    this.announcements[index]!++;
    this.mayHaveWork[index] = true;
    this.wakeIdleSlots();
  }

  private resetIdleSignal(): void {
    this.workAnnounced = new Promise((resolve) => (this.wakeIdleSlots = resolve));
  }

  private async runSlot(): Promise<void> {
    // A job fetched along with the previous one's completion is already active under this worker's lock:
    // it runs even when the worker is stopping.
    let fetched: Job | null = null;
    while (this.running || fetched) {
      let job: Job | null = fetched;
      fetched = null;
      try {
        job ??= await this.takeNext();
      } catch (error) {
        this.log.warn({ err: error }, 'cannot fetch jobs; retrying');
        await sleep(this.errorBackoffMs);
        continue;
      }
      if (!job) {
        await this.waitForWork();
        continue;
      }
      this.inFlight++;
      try {
        fetched = await this.runJob(job as BullJob);
      } catch (error) {
        // The outcome could not be recorded (Redis gone): the job keeps its lock and comes back when it expires.
        this.log.error({ err: error, jobId: job.id }, 'could not record job outcome');
      } finally {
        this.inFlight--;
      }
    }
  }

  /** Runs a job and records its outcome; returns the next job when its completion fetched one. */
  private async runJob(job: BullJob): Promise<Job | null> {
    const { lockDuration, lockRenewTime } = (job.queue as BullQueueInternals).settings;
    const renewal = setInterval(() => {
      job
        .extendLock(lockDuration)
        .catch((error: unknown) => this.log.warn({ err: error, jobId: job.id }, 'lock renewal failed'));
    }, lockRenewTime);
    let outcome: JobOutcome;
    try {
      outcome = await this.handler(job);
    } catch (error) {
      const delayMs = this.handlerErrorDelayMs();
      this.log.warn({ err: error, jobId: job.id, delayMs }, 'job handler failed; the job runs again later');
      outcome = { kind: 'retry', reason: error instanceof Error ? error.message : String(error), delayMs };
    } finally {
      clearInterval(renewal);
    }
    switch (outcome.kind) {
      case 'done':
        return this.complete(job, outcome.result);
      case 'retry':
        await job.moveToDelayed(Date.now() + outcome.delayMs);
        return null;
      case 'wait':
        await job.moveToDelayed(outcome.untilMs);
        return null;
    }
  }

  /**
   * Completes a job, and fetches the next one of its queue in the same call when no other queue of its tier
   * or of a higher one may have work (else the next fetch must look there first: see the class comment).
   */
  private async complete(job: BullJob, result: string): Promise<Job | null> {
    const index = this.queues.indexOf(job.queue as BullQueueInternals);
    const fetch = this.running && index >= 0 && this.onlyCandidate(index);
    const seen = this.announcements[index];
    const next = await job.moveToCompleted(result, false, !fetch);
    if (!fetch) return null;
    if (!next) {
      if (this.announcements[index] === seen) this.mayHaveWork[index] = false;
      return null;
    }
    this.tookFrom(index);
    return this.queues[index]!.nextJobFromJobData(next[0], String(next[1]));
  }

  /** Whether no queue but this one, in its tier or a higher one, may have work. */
  private onlyCandidate(index: number): boolean {
    const tier = this.tierOf[index]!;
    return this.indexesByTier
      .slice(0, tier + 1)
      .every((indexes) => indexes.every((other) => other === index || !this.mayHaveWork[other]));
  }

  private async takeNext(): Promise<Job | null> {
    for (const [tier, indexes] of this.indexesByTier.entries()) {
      const start = this.nextInTier[tier]!;
      for (let step = 0; step < indexes.length; step++) {
        const index = indexes[(start + step) % indexes.length]!;
        if (!this.mayHaveWork[index] || !this.running) continue;
        const seen = this.announcements[index];
        const job = await this.queues[index]!.moveToActive();
        if (job) {
          this.tookFrom(index);
          // A poll that finds work (its announcement was missed) wakes the idle slots: there may be more.
          if (this.polling) this.wakeIdleSlots();
          this.polling = false;
          return job;
        }
        // Only mark it empty if no job was announced meanwhile; otherwise that job could be overlooked.
        if (this.announcements[index] === seen) this.mayHaveWork[index] = false;
      }
    }
    this.polling = false;
    return null;
  }

  /** The tier's next fetch starts after this queue, so that its other queues get their turn first. */
  private tookFrom(index: number): void {
    const tier = this.tierOf[index]!;
    const indexes = this.indexesByTier[tier]!;
    this.nextInTier[tier] = (indexes.indexOf(index) + 1) % indexes.length;
  }

  /**
   * Waits for a "job waiting" announcement, or polls: every idle slot times out about together, and only the
   * first looks at every queue again (the others keep waiting), so an idle worker costs one round of fetches
   * per poll interval whatever its concurrency, not one per slot (with 3 queues per partition, a round is
   * already 3 × REDIS_PARTITIONS calls).
   */
  private async waitForWork(): Promise<void> {
    for (;;) {
      const signal = this.workAnnounced;
      const timedOut = await Promise.race([
        signal.then(() => false),
        sleep(this.idlePollMs, true, { ref: false }),
      ]);
      if (!timedOut) {
        // The first slot woken by an announcement arms the next signal; the others see it already re-armed.
        if (signal === this.workAnnounced) this.resetIdleSignal();
        return;
      }
      if (!this.running) return;
      const now = Date.now();
      if (now - this.lastPollAt >= this.idlePollMs / 2) {
        this.lastPollAt = now;
        this.mayHaveWork.fill(true);
        this.polling = true;
        return;
      }
    }
  }
}
