import Bull, { type Job, type Queue } from 'bull';
import { PrivateRedis } from '../../test/support/private-redis';
import { RedisKeys } from '../redis/redis-keys';
import { EmailQueue } from './email-queue';
import { EMAIL_QUEUES } from './queue-names';

const ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

/** Bull's own fetch, as a worker makes it: the next waiting job, active under this queue's lock. */
const take = (queue: Queue) => (queue as Queue & { moveToActive(): Promise<Job | null> }).moveToActive();

describe('EmailQueue (real Redis, Bull queues)', () => {
  let server: PrivateRedis;
  let queues: Record<'high' | 'medium' | 'low', Queue>;
  let emails: EmailQueue;

  beforeAll(async () => {
    server = await PrivateRedis.start();
  });

  beforeEach(async () => {
    const prefix = `{email-queue-${Date.now()}}`;
    queues = {
      high: new Bull(EMAIL_QUEUES.high, server.url, { prefix }),
      medium: new Bull(EMAIL_QUEUES.medium, server.url, { prefix }),
      low: new Bull(EMAIL_QUEUES.low, server.url, { prefix }),
    };
    await Promise.all(Object.values(queues).map((queue) => queue.isReady()));
    emails = new EmailQueue([queues], new RedisKeys(prefix));
  });

  afterEach(async () => {
    await Promise.all(Object.values(queues).map((queue) => queue.close()));
  });

  afterAll(async () => {
    await server.stop();
  });

  it('queues jobs with no attempts of their own: Bull never retries or fails them on its account', async () => {
    await emails.enqueueMany([{ id: ID, priority: 'low', delayMs: 0 }]);
    const job = (await queues.low.getJob(ID))!;
    expect(job.opts.attempts).toBe(1);
    expect(job.opts.backoff).toBeUndefined();
  });

  it('throws when a job of a batch could not be added, rather than leaving its email without one', async () => {
    // Bull numbers every job, even one with an id of its own: a counter of the wrong type fails each add.
    await queues.medium.client.hset(queues.medium.toKey('id'), 'wrong', 'type');
    await expect(
      emails.enqueueMany([
        { id: `${ID.slice(0, -1)}1`, priority: 'medium', delayMs: 0 },
        { id: `${ID.slice(0, -1)}2`, priority: 'medium', delayMs: 0 },
        { id: `${ID.slice(0, -1)}3`, priority: 'high', delayMs: 0 },
      ]),
    ).rejects.toThrow(/2 of 2 jobs could not be queued/);
    await expect(emails.enqueueMany([{ id: ID, priority: 'medium', delayMs: 0 }])).rejects.toThrow(
      /WRONGTYPE/,
    );
  });

  it('tells a missing, pending, locked and finished job apart, in one call for many', async () => {
    const ids = ['1', '2', '3', '4', '5'].map((n) => `${ID.slice(0, -1)}${n}`);
    await queues.medium.add({}, { jobId: ids[1] });
    await queues.high.add({}, { jobId: ids[2] });
    await queues.high.add({}, { jobId: ids[3], delay: 60_000 });
    await queues.low.add({}, { jobId: ids[4] });
    const held = (await take(queues.high))!;
    const done = (await take(queues.low))!;
    await done.moveToCompleted('sent', false, true);
    expect(
      await emails.jobStates([
        { id: ids[0]!, priority: 'medium' },
        { id: ids[1]!, priority: 'medium' },
        { id: held.id as string, priority: 'high' },
        { id: ids[3]!, priority: 'high' },
        { id: ids[4]!, priority: 'low' },
      ]),
    ).toEqual(['missing', 'pending', 'locked', 'pending', 'finished']);
  });

  it('ensures a job: adds one when missing, replaces a finished one, and leaves a pending or locked one', async () => {
    expect(await emails.ensureJob(ID, 'medium')).toBe('missing');
    expect(await emails.ensureJob(ID, 'medium')).toBe('pending');
    const held = (await take(queues.medium))!;
    expect(await emails.ensureJob(ID, 'medium')).toBe('locked');
    await held.moveToFailed({ message: 'given up' });
    expect(await (await queues.medium.getJob(ID))!.getState()).toBe('failed');
    expect(await emails.ensureJob(ID, 'medium')).toBe('finished');
    expect(await (await queues.medium.getJob(ID))!.getState()).toBe('waiting');
    expect(await queues.medium.getFailedCount()).toBe(0);
  });

  describe('over 3 partitions', () => {
    const keys = new RedisKeys('{email-queue-partitions}', 3);
    let partitions: Record<'high' | 'medium' | 'low', Queue>[];
    let partitioned: EmailQueue;

    beforeEach(async () => {
      partitions = keys.partitionNumbers().map((partition) => {
        const prefix = keys.queuePrefix(partition);
        return {
          high: new Bull(EMAIL_QUEUES.high, server.url, { prefix }),
          medium: new Bull(EMAIL_QUEUES.medium, server.url, { prefix }),
          low: new Bull(EMAIL_QUEUES.low, server.url, { prefix }),
        };
      });
      partitioned = new EmailQueue(partitions, keys);
      await partitions[0]!.high.client.flushall();
    });

    afterEach(async () => {
      await Promise.all(
        partitioned
          .inTiers()
          .flat()
          .map((queue) => queue.close()),
      );
    });

    it("puts each email's job in its partition's queue of its priority, and finds it there", async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `${ID.slice(0, -2)}${String(i).padStart(2, '0')}`);
      expect(new Set(ids.map((id) => keys.partitionOf(id))).size).toBe(3);
      await partitioned.enqueueMany(
        ids.map((id, i) => ({ id, priority: i % 2 ? 'low' : 'high', delayMs: 0 })),
      );
      for (const [i, id] of ids.entries()) {
        const queue = partitions[keys.partitionOf(id)]![i % 2 ? 'low' : 'high'];
        expect((await queue.getJob(id))?.id).toBe(id);
        expect(queue.toKey(id).startsWith(keys.queuePrefix(keys.partitionOf(id)))).toBe(true);
      }
      const states = await partitioned.jobStates(
        ids.map((id, i) => ({ id, priority: i % 2 ? 'low' : 'high' })),
      );
      expect(states).toEqual(ids.map(() => 'pending'));
      expect(await partitioned.jobStates([{ id: `${ID.slice(0, -1)}f`, priority: 'medium' }])).toEqual([
        'missing',
      ]);
      expect(partitioned.inTiers().map((tier) => tier.length)).toEqual([3, 3, 3]);
      expect(partitioned.inTiers()[0]).toEqual(partitions.map(({ high }) => high));
    });
  });
});
