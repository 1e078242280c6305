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

describe('PriorityDispatcher (real Redis, Bull queues)', () => {
  let server: PrivateRedis;
  let high: Queue;
  let low: Queue;
  let dispatcher: PriorityDispatcher | undefined;
  let fetches: number;

  beforeAll(async () => {
    server = await PrivateRedis.start();
  });

  beforeEach(async () => {
    const prefix = `{dispatch-${Date.now()}}`;
    high = new Bull('high', server.url, { prefix });
    low = new Bull('low', server.url, { prefix });
    await Promise.all([high.isReady(), low.isReady()]);
    fetches = 0;
    for (const queue of [high, low] as (Queue & { moveToActive(): Promise<Job | null> })[]) {
      const moveToActive = queue.moveToActive.bind(queue);
      queue.moveToActive = () => {
        fetches++;
        return moveToActive();
      };
    }
  });

  afterEach(async () => {
    await dispatcher?.stop(5000);
    await Promise.all([high.close(), low.close()]);
  });

  afterAll(async () => {
    await server.stop();
  });

  it('runs a busy queue without a fetch of its own per job: each completion brings the next job', async () => {
    await low.addBulk(Array.from({ length: 20 }, (_, n) => ({ data: { n } })));
    const done: number[] = [];
    let fetchesByLastJob = 0;
    dispatcher = new PriorityDispatcher(
      [high, low],
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
      [high, low],
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
      [high, low],
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
      [high, low],
      async (job): Promise<JobOutcome> => {
        const { name } = job.data as { name: string };
        order.push(name);
        if (name === 'low 0') {
          await high.add({ name: 'high' });
          await sleep(200); // the dispatcher hears of the new high job meanwhile
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
});
