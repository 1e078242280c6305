import Bull, { type Job, type Queue } from 'bull';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrivateRedis } from '../../test/support/private-redis';
import { PriorityDispatcher, type JobOutcome } from './priority-dispatcher';

const silent = { warn: () => undefined, error: () => undefined };

/** Waits until `check` holds, or fails after `timeoutMs`. */
async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

/** The state a job ends in (completed or failed), within ten seconds. */
async function settledState(queue: Queue, id: Job['id']): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const state = await (await queue.getJob(id))?.getState();
    if (state === 'completed' || state === 'failed') return state;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state}`);
    await sleep(20);
  }
}

/**
 * Resolves once `queue` has heard of a new waiting job. Listen before adding the job. The dispatcher's own
 * listener, registered at start, has run by then: it knows of the job too.
 */
function heard(queue: Queue): Promise<void> {
  return new Promise((resolve) => queue.once('global:waiting', () => resolve()));
}

/** Jobs named `${prefix} 0`, `${prefix} 1`, … */
const named = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, n) => ({ data: { name: `${prefix} ${n}` } }));

const nameOf = (job: Job) => (job.data as { name: string }).name;

describe('PriorityDispatcher (real Redis, Bull queues)', () => {
  let server: PrivateRedis;
  // Two partitions, each with a high and a low queue: `high` and `low` are partition 0's.
  let high: Queue;
  let low: Queue;
  let high1: Queue;
  let low1: Queue;
  let dispatcher: PriorityDispatcher | undefined;
  let fetches: number;

  beforeAll(async () => {
    server = await PrivateRedis.start();
  });

  beforeEach(async () => {
    const prefix = `{dispatch-${Date.now()}}`;
    high = new Bull('high', server.url, { prefix });
    low = new Bull('low', server.url, { prefix });
    high1 = new Bull('high-1', server.url, { prefix });
    low1 = new Bull('low-1', server.url, { prefix });
    await Promise.all([high, low, high1, low1].map((queue) => queue.isReady()));
    fetches = 0;
    for (const queue of [high, low, high1, low1] as (Queue & { moveToActive(): Promise<Job | null> })[]) {
      const moveToActive = queue.moveToActive.bind(queue);
      queue.moveToActive = () => {
        fetches++;
        return moveToActive();
      };
    }
  });

  afterEach(async () => {
    await dispatcher?.stop(5000);
    await Promise.all([high, low, high1, low1].map((queue) => queue.close()));
  });

  afterAll(async () => {
    await server.stop();
  });

  it('runs a busy queue without a fetch of its own per job: each completion brings the next job', async () => {
    await low.addBulk(Array.from({ length: 20 }, (_, n) => ({ data: { n } })));
    const done: number[] = [];
    let fetchesByLastJob = 0;
    dispatcher = new PriorityDispatcher(
      [[high], [low]],
      (job): Promise<JobOutcome> => {
        done.push((job.data as { n: number }).n);
        fetchesByLastJob = fetches;
        return Promise.resolve({ kind: 'done', result: 'ok' });
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => done.length === 20);
    expect(done).toEqual(Array.from({ length: 20 }, (_, n) => n));
    // One fetch per queue to start (high is empty, low has the first job), and none per job after that.
    expect(fetchesByLastJob).toBe(2);
    expect(await low.getCompletedCount()).toBe(20);
  });

  it("runs a job whose handler keeps throwing again and again, past Bull's attempts, until it is done", async () => {
    // Bull's default is one attempt: a job that Bull failed on the handler's account would stay failed.
    const job = await low.add({ n: 1 });
    let runs = 0;
    dispatcher = new PriorityDispatcher(
      [[high], [low]],
      (): Promise<JobOutcome> => {
        runs++;
        if (runs <= 3) return Promise.reject(new Error('Command timed out'));
        return Promise.resolve({ kind: 'done', result: 'ok' });
      },
      { concurrency: 1, idlePollMs: 50, handlerErrorDelayMs: () => 20 },
      silent,
    );
    await dispatcher.start();
    expect(await settledState(low, job.id)).toBe('completed');
    expect(runs).toBe(4);
    expect(await low.getFailedCount()).toBe(0);
  });

  it("puts a retried job back for its delay without spending Bull's attempts", async () => {
    const job = await low.add({ n: 1 });
    const startedAt: number[] = [];
    dispatcher = new PriorityDispatcher(
      [[high], [low]],
      (): Promise<JobOutcome> => {
        startedAt.push(Date.now());
        return Promise.resolve(
          startedAt.length < 3
            ? { kind: 'retry', reason: '451 try later', delayMs: 300 }
            : { kind: 'done', result: 'sent' },
        );
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    expect(await settledState(low, job.id)).toBe('completed');
    expect(startedAt).toHaveLength(3);
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(300);
    expect(startedAt[2]! - startedAt[1]!).toBeGreaterThanOrEqual(300);
    expect((await low.getJob(job.id))!.attemptsMade).toBe(0);
  });

  it('does not take the next low job along a completion while a high one is waiting', async () => {
    await low.addBulk(Array.from({ length: 5 }, (_, n) => ({ data: { name: `low ${n}` } })));
    const order: string[] = [];
    dispatcher = new PriorityDispatcher(
      [[high], [low]],
      async (job): Promise<JobOutcome> => {
        const { name } = job.data as { name: string };
        order.push(name);
        if (name === 'low 0') {
          const highHeard = heard(high);
          await high.add({ name: 'high' });
          await highHeard;
        }
        return { kind: 'done', result: 'ok' };
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => order.length === 6);
    expect(order).toEqual(['low 0', 'high', 'low 1', 'low 2', 'low 3', 'low 4']);
  });
  it('takes every job of the higher tier, from either partition, before any job of the lower tier', async () => {
    await low.addBulk(named('low', 6));
    await low1.addBulk(named('low1', 6));
    await high.addBulk(named('high', 3));
    await high1.addBulk(named('high1', 3));
    const order: string[] = [];
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      (job): Promise<JobOutcome> => {
        order.push(nameOf(job));
        return Promise.resolve({ kind: 'done', result: 'ok' });
      },
      { concurrency: 2, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => order.length === 18);
    expect(order.slice(0, 6).every((name) => name.startsWith('high'))).toBe(true);
  });

  it('stops chaining a busy lower-tier queue as soon as a job is announced in the higher tier of another partition', async () => {
    await low.addBulk(named('low', 5));
    const order: string[] = [];
    const fetchesAtStart: number[] = [];
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      async (job): Promise<JobOutcome> => {
        const name = nameOf(job);
        order.push(name);
        fetchesAtStart.push(fetches);
        if (name === 'low 2') {
          const highHeard = heard(high1);
          await high1.add({ name: 'high' });
          await highHeard;
        }
        return { kind: 'done', result: 'ok' };
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => order.length === 6);
    expect(order).toEqual(['low 0', 'low 1', 'low 2', 'high', 'low 3', 'low 4']);
    // `low 2` came along with the completion of `low 1`, not from a fetch of its own: it was chained.
    expect(fetchesAtStart[2]).toBe(fetchesAtStart[1]);
  });

  it('alternates between the busy queues of one tier instead of draining the first partition first', async () => {
    await low.addBulk(named('low', 40));
    await low1.addBulk(named('low1', 40));
    const fromFirst: boolean[] = [];
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      (job): Promise<JobOutcome> => {
        fromFirst.push(job.queue === low);
        return Promise.resolve({ kind: 'done', result: 'ok' });
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => fromFirst.length === 80);
    const first = fromFirst.slice(0, 20).filter(Boolean).length;
    // Draining partition 0 first would make it 20 and 0.
    expect(first).toBeGreaterThanOrEqual(8);
    expect(20 - first).toBeGreaterThanOrEqual(8);
  });

  it('lets a job announced in another queue of the tier run next while one queue is being chained', async () => {
    await low.addBulk(named('low', 6));
    const order: string[] = [];
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      async (job): Promise<JobOutcome> => {
        const name = nameOf(job);
        order.push(name);
        if (name === 'low 2') {
          const low1Heard = heard(low1);
          await low1.add({ name: 'low1 0' });
          await low1Heard;
        }
        return { kind: 'done', result: 'ok' };
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => order.length === 7);
    expect(order).toEqual(['low 0', 'low 1', 'low 2', 'low1 0', 'low 3', 'low 4', 'low 5']);
  });

  it('keeps one round trip per job for a busy queue whose partners in the tier are empty', async () => {
    await low1.addBulk(named('low1', 20));
    let fetchesByLastJob = 0;
    let done = 0;
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      (): Promise<JobOutcome> => {
        done++;
        fetchesByLastJob = fetches;
        return Promise.resolve({ kind: 'done', result: 'ok' });
      },
      { concurrency: 1, idlePollMs: 50 },
      silent,
    );
    await dispatcher.start();
    await until(() => done === 20);
    // One fetch per queue to start (`low`, tried first, is found empty), and none per job after that.
    expect(fetchesByLastJob).toBe(4);
  });

  it('polls every queue once per interval while idle, whatever its concurrency', async () => {
    dispatcher = new PriorityDispatcher(
      [
        [high, high1],
        [low, low1],
      ],
      () => Promise.resolve<JobOutcome>({ kind: 'done', result: 'sent' }),
      { concurrency: 8, idlePollMs: 100 },
      silent,
    );
    await dispatcher.start();
    // The first look: each slot may try each queue before another has found it empty.
    await sleep(50);
    const atStart = fetches;
    expect(atStart).toBeLessThanOrEqual(8 * 4);
    await sleep(1000);
    // About 10 polls of 4 queues; a poll per slot would be 8 times as many.
    expect(fetches - atStart).toBeGreaterThanOrEqual(4 * 5);
    expect(fetches - atStart).toBeLessThanOrEqual(4 * 15);
    // A job whose announcement is missed is still found by a poll, and the woken slots run the rest.
    (high1 as Queue & { removeAllListeners(event: string): void }).removeAllListeners('global:waiting');
    const job = await high1.add({ name: 'unannounced' });
    expect(await settledState(high1, job.id)).toBe('completed');
  });
});
