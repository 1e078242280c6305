import Bull, { type Job, type Queue } from 'bull';
import { PrivateRedis } from '../../test/support/private-redis';
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
    emails = new EmailQueue(queues.high, queues.medium, queues.low);
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
});
