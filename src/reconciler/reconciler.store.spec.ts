import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import { EmailStore } from '../emails/email.store';
import { GroupDataStore } from '../emails/group-data.store';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { ReconcilerStore } from './reconciler.store';

const ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

/**
 * Its scripts: take-leadership.lua and resign-leadership.lua (the leader), ready-for-requeue.lua and
 * dead-letter-overdue.lua (the repairs).
 */
describe.each([1, 3])('ReconcilerStore, %i partition(s) (real Redis)', (partitions) => {
  const keys = new RedisKeys('{reconciler-test}', partitions);
  const unfinished = (id: string) => keys.unfinishedEmails(keys.partitionOf(id));
  /** Puts emails among the unfinished ones, each in its partition: [score, id] pairs. */
  const addUnfinished = (...entries: [number, string][]) =>
    Promise.all(entries.map(([score, id]) => redis.zadd(unfinished(id), score, id)));
  let server: PrivateRedis;
  let redis: Redis;
  let store: ReconcilerStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    const connections = { client: redis } as unknown as RedisConnections;
    const config = { email: { retentionDays: 7 } } as AppConfig;
    const emails = new EmailStore(connections, keys, new GroupDataStore(connections, keys, config), config);
    store = new ReconcilerStore(connections, keys, emails, config);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const record = (id: string, fields: Record<string, string | number>) =>
    redis.hset(keys.email(id), {
      priority: 'high',
      service: 'billing',
      attempts: 0,
      maxAttempts: 3,
      ...fields,
    });

  it('lets one token lead at a time, renews the leader, and hands over once it resigns or its lease ends', async () => {
    expect(await store.lead('a', 200)).toBe(true);
    expect(await store.lead('b', 200)).toBe(false);
    expect(await store.lead('a', 10_000)).toBe(true);
    expect(await redis.pttl(keys.reconcilerLeader())).toBeGreaterThan(5000);
    await store.resign('b');
    expect(await store.lead('b', 200)).toBe(false);
    await store.resign('a');
    expect(await store.lead('b', 150)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await store.lead('a', 200)).toBe(true);
  });

  it('reads the longest-waiting overdue emails with their records, at most the limit, and none seen since', async () => {
    const ids = ['a', 'b', 'c', 'd'].map((letter) => `${ID.slice(0, -1)}${letter}`);
    await addUnfinished([300, ids[2]!], [100, ids[0]!], [200, ids[1]!], [900, ids[3]!]);
    await record(ids[0]!, { status: 'queued', requestId: 'req-1' });
    await record(ids[2]!, { status: 'scheduled', sendAt: 250, provider: 'smtp' });
    const overdue = await store.overdue(500, 2);
    expect(overdue).toEqual([
      {
        id: ids[0],
        email: {
          id: ids[0],
          status: 'queued',
          priority: 'high',
          service: 'billing',
          requestId: 'req-1',
          attempts: 0,
          maxAttempts: 3,
        },
      },
      // Its record has expired.
      { id: ids[1], email: undefined },
    ]);
    expect((await store.overdue(500, 10)).map((e) => e.email?.sendAt)).toEqual([undefined, undefined, 250]);
    await store.seen([{ id: ids[0]!, at: 1000 }]);
    await store.forget([ids[1]!]);
    expect((await store.overdue(500, 10)).map((e) => e.id)).toEqual([ids[2]]);
  });

  it('reads past a record Redis refuses to read, saying why, and takes an unknown priority for medium', async () => {
    const broken = `${ID.slice(0, -1)}e`;
    await addUnfinished([100, broken], [200, ID]);
    await redis.set(keys.email(broken), 'not a hash');
    await record(ID, { status: 'queued', priority: 'urgent' });
    const [first, second] = await store.overdue(500, 10);
    expect(first).toEqual({ id: broken, email: undefined, unreadable: expect.stringMatching(/^WRONGTYPE/) });
    expect(second!.email?.priority).toBe('medium');
  });

  it('marks as seen only emails still unfinished', async () => {
    await store.seen([{ id: ID, at: 1000 }]);
    expect(await redis.zcard(unfinished(ID))).toBe(0);
  });

  it('readies a requeue only while the status is the one judged, and counts the email as seen then', async () => {
    await record(ID, { status: 'queued' });
    await addUnfinished([100, ID]);
    expect(await store.readyForRequeue(ID, 'retrying', 5000)).toBe(false);
    expect(await redis.zscore(unfinished(ID), ID)).toBe('100');
    expect(await store.readyForRequeue(ID, 'queued', 5000)).toBe(true);
    expect(await redis.zscore(unfinished(ID), ID)).toBe('5000');
  });

  it('dead-letters an email as a last failed attempt does, only while the status is the one judged', async () => {
    await record(ID, { status: 'sending', attempts: 3, reservedProvider: 'smtp', reservedUntil: 1 });
    await redis.set(keys.emailMessage(ID), '{}');
    await addUnfinished([100, ID]);
    expect(await store.deadLetter(ID, 'retrying', 'why', 5000)).toBe(false);
    expect(await redis.hget(keys.email(ID), 'status')).toBe('sending');

    expect(await store.deadLetter(ID, 'sending', 'no job left', 5000)).toBe(true);
    expect(await redis.hgetall(keys.email(ID))).toMatchObject({
      status: 'dead',
      lastError: 'no job left',
      deadAt: '5000',
    });
    expect(await redis.hexists(keys.email(ID), 'reservedProvider')).toBe(0);
    expect(await redis.zscore(keys.deadLetters(keys.partitionOf(ID)), ID)).toBe('5000');
    expect(await redis.zscore(unfinished(ID), ID)).toBeNull();
    for (const key of [keys.email(ID), keys.emailMessage(ID)])
      expect(await redis.pttl(key)).toBeGreaterThan(6 * 86_400_000);
  });
});
