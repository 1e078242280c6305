import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { sizedJson } from '../common/data-limit';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { composeGroupMessage } from './email-composer';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import { EmailStore } from './email.store';
import { GroupDataStore } from './group-data.store';

const DAY_MS = 86_400_000;
const keys = new RedisKeys('{email-store-test}');
const config = { email: { retentionDays: 7 } } as AppConfig;

/** One email of `service`, accepted at `createdAt` (due at `sendAt` when given), with a Cc. */
function single(
  id: string,
  createdAt: number,
  options: { service?: string; sendAt?: number } = {},
): NewEmail {
  const record: EmailRecord = {
    id,
    status: options.sendAt ? 'scheduled' : 'queued',
    priority: 'high',
    service: options.service ?? 'billing',
    requestId: `req-${id}`,
    createdAt,
    ...(options.sendAt ? { sendAt: options.sendAt } : {}),
    attempts: 0,
    maxAttempts: 3,
    to: ['ana@example.com'],
    subject: `Subject ${id}`,
    tags: ['invoice'],
    metadata: { order: '42' },
  };
  const message = {
    ...composeGroupMessage({ email: 'ana@example.com' }, { email: 'noreply@x.example' }, record.subject, {
      template: 'digest',
      data: {},
    }),
    cc: [{ email: 'cc@example.com' }],
  };
  return { record, message };
}

/** A group of `count` emails referring to one shared data, accepted at `now`, due at `sendAt`. */
function group(count: number, now: number, sendAt?: number): NewEmail[] {
  const shared: SharedGroupData = {
    groupId: `group-${now}`,
    data: sizedJson({ product: 'FreeFace', notes: 'shared notes' }),
    members: count,
  };
  return Array.from({ length: count }, (_, member) => {
    const record: EmailRecord = {
      id: `email-${now}-${member}`,
      status: sendAt ? 'scheduled' : 'queued',
      priority: 'medium',
      service: 'billing',
      createdAt: now,
      ...(sendAt ? { sendAt } : {}),
      attempts: 0,
      maxAttempts: 3,
      groupId: shared.groupId,
      to: [`m${member}@example.com`],
      subject: 'Hello',
      tags: [],
      metadata: {},
    };
    const message = composeGroupMessage(
      { email: `m${member}@example.com` },
      { email: 'noreply@x.example' },
      'Hi',
      {
        template: 'digest',
        data: { name: `M${member}` },
        shared: { groupId: shared.groupId, member },
      },
    );
    return { record, message, shared };
  });
}

describe('EmailStore (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let store: EmailStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    const connections = { client: redis } as unknown as RedisConnections;
    store = new EmailStore(connections, keys, new GroupDataStore(connections, keys, config), config);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  describe('write-emails.lua', () => {
    it('writes the record, its message apart, and every index it belongs to, living for the retention', async () => {
      const now = Date.now();
      await store.createMany([
        single('a', now),
        single('b', now, { service: 'alerts', sendAt: now + 60_000 }),
      ]);

      expect(await store.find('a')).toEqual({
        id: 'a',
        status: 'queued',
        priority: 'high',
        service: 'billing',
        requestId: 'req-a',
        createdAt: now,
        attempts: 0,
        maxAttempts: 3,
        to: ['ana@example.com'],
        subject: 'Subject a',
        tags: ['invoice'],
        metadata: { order: '42' },
      });
      expect(JSON.parse((await redis.get(keys.emailMessage('a')))!)).toMatchObject({ subject: 'Subject a' });
      expect(await redis.hget(keys.email('a'), 'cc')).toBe('["cc@example.com"]');
      expect(await redis.zrange(keys.emailsOf('billing', 0), 0, -1)).toEqual(['a']);
      expect(await redis.zrange(keys.emailsOf('alerts', 0), 0, -1)).toEqual(['b']);
      expect(await redis.zrange(keys.allEmails(0), 0, -1)).toEqual(['a', 'b']);
      expect(await redis.zrange(keys.scheduled(0), 0, -1, 'WITHSCORES')).toEqual(['b', String(now + 60_000)]);
      expect(await store.scheduledCount()).toBe(1);
      // Unfinished as of when each is due: the reconciler looks at a scheduled one only after its sendAt.
      expect(await redis.zrange(keys.unfinishedEmails(0), 0, -1, 'WITHSCORES')).toEqual([
        'a',
        String(now),
        'b',
        String(now + 60_000),
      ]);
      const ttl = await redis.pttl(keys.email('b'));
      expect(ttl).toBeGreaterThan(7 * DAY_MS);
      expect(ttl).toBeLessThanOrEqual(7 * DAY_MS + 60_000);
      expect(await redis.pttl(keys.emailMessage('a'))).toBeGreaterThan(7 * DAY_MS - 60_000);
    });

    it('trims index entries older than the retention as it writes, and lets each index expire after it', async () => {
      const now = Date.now();
      await redis.zadd(keys.emailsOf('billing', 0), now - 8 * DAY_MS, 'expired');
      await redis.zadd(keys.allEmails(0), now - 8 * DAY_MS, 'expired');
      await store.createMany([single('fresh', now)]);
      expect(await redis.zrange(keys.emailsOf('billing', 0), 0, -1)).toEqual(['fresh']);
      expect(await redis.zrange(keys.allEmails(0), 0, -1)).toEqual(['fresh']);
      for (const index of [keys.emailsOf('billing', 0), keys.allEmails(0)]) {
        expect(await redis.pttl(index)).toBeGreaterThan(7 * DAY_MS - 60_000);
        expect(await redis.pttl(index)).toBeLessThanOrEqual(7 * DAY_MS);
      }
    });

    it('writes a large batch in chunks, every email once', async () => {
      const now = Date.now();
      const emails = Array.from({ length: 1234 }, (_, i) => single(`e${String(i).padStart(4, '0')}`, now));
      await store.createMany(emails);
      expect(await redis.zcard(keys.allEmails(0))).toBe(1234);
      expect(await redis.zcard(keys.unfinishedEmails(0))).toBe(1234);
      expect((await store.find('e1233'))?.subject).toBe('Subject e1233');
    });
  });

  describe('discard-emails.lua', () => {
    it('removes what was written for emails that could not be queued, and nothing else', async () => {
      const now = Date.now();
      const kept = single('kept', now);
      const dropped = [single('x', now), single('y', now, { service: 'alerts', sendAt: now + 1000 })];
      await store.createMany([kept, ...dropped]);
      await store.discard(dropped.map((email) => email.record));
      expect((await redis.keys('{email-store-test}:*')).sort()).toEqual(
        [
          keys.allEmails(0),
          keys.email('kept'),
          keys.emailMessage('kept'),
          keys.emailsOf('billing', 0),
          keys.unfinishedEmails(0),
        ].sort(),
      );
      expect(await redis.zrange(keys.unfinishedEmails(0), 0, -1)).toEqual(['kept']);
      expect(await redis.zrange(keys.allEmails(0), 0, -1)).toEqual(['kept']);
    });
  });

  describe('cancel-email.lua', () => {
    it('cancels a queued or scheduled email, drops its message and takes it off the lists', async () => {
      const now = Date.now();
      await store.createMany([single('q', now), single('s', now, { sendAt: now + 60_000 })]);
      expect(await store.cancel('q', now + 5)).toBe('queued');
      expect(await store.cancel('s', now + 6)).toBe('scheduled');
      expect(await store.find('q')).toMatchObject({ status: 'cancelled', cancelledAt: now + 5 });
      expect(await redis.exists(keys.emailMessage('q'), keys.emailMessage('s'))).toBe(0);
      expect(await redis.zcard(keys.scheduled(0))).toBe(0);
      expect(await redis.zcard(keys.unfinishedEmails(0))).toBe(0);
    });

    it("drops the place a retrying email held in its provider's line", async () => {
      await store.createMany([single('r', Date.now())]);
      await redis.hset(keys.email('r'), { status: 'retrying', reservedProvider: 'smtp', reservedUntil: '1' });
      expect(await store.cancel('r', Date.now())).toBe('retrying');
      expect(await redis.hmget(keys.email('r'), 'reservedProvider', 'reservedUntil')).toEqual([null, null]);
    });

    it('leaves an email that has started going out, or is gone, as it is', async () => {
      await store.createMany([single('busy', Date.now())]);
      await redis.hset(keys.email('busy'), 'status', 'sending');
      expect(await store.cancel('busy', Date.now())).toBe('sending');
      expect((await store.find('busy'))?.status).toBe('sending');
      expect(await redis.exists(keys.emailMessage('busy'))).toBe(1);
      expect(await store.cancel('missing', Date.now())).toBeUndefined();
      expect(await redis.exists(keys.email('missing'))).toBe(0);
    });
  });

  it('reads many records in their order: undefined for one gone, the error for one Redis cannot read', async () => {
    await store.createMany([single('a', Date.now()), single('b', Date.now())]);
    await redis.set(keys.email('wrong'), 'a string, not a hash');
    const [b, gone, wrong, a] = await store.findMany(['b', 'gone', 'wrong', 'a']);
    expect(b).toMatchObject({ id: 'b', subject: 'Subject b' });
    expect(gone).toBeUndefined();
    expect(wrong).toBeInstanceOf(Error);
    expect(a).toMatchObject({ id: 'a' });
    expect(await store.findMany([])).toEqual([]);
  });

  it('gives every recipient of an email, the copied ones included, which status queries never show', async () => {
    await store.createMany([single('a', Date.now())]);
    expect(await store.recipientsOf('a')).toEqual(['ana@example.com', 'cc@example.com']);
    expect(await store.recipientsOf('missing')).toBeUndefined();
    expect(JSON.stringify(await store.find('a'))).not.toContain('cc@example.com');
  });

  it("writes a group's shared data once, before the records, living as long as they do", async () => {
    const now = Date.now();
    const emails = group(13, now, now + 3_600_000);
    const sent = jest.spyOn(redis, 'sendCommand');
    await store.createMany(emails);
    // Issued ahead of every record on the one connection: Redis has it before any email (or job) exists.
    expect(sent.mock.calls.slice(0, 2).map(([command]) => command.name)).toEqual(['set', 'set']);
    sent.mockRestore();

    const { groupId } = emails[0]!.shared!;
    expect(await redis.get(keys.groupData(groupId))).toBe('{"product":"FreeFace","notes":"shared notes"}');
    expect(await redis.bitcount(keys.groupDataMembers(groupId))).toBe(13);
    for (const key of [
      keys.groupData(groupId),
      keys.groupDataMembers(groupId),
      keys.emailMessage(emails[0]!.record.id),
    ]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(7 * DAY_MS + 3_500_000);
      expect(ttl).toBeLessThanOrEqual(7 * DAY_MS + 3_600_000);
    }
    // Each email keeps its own data and the reference, never the shared data.
    const message = await redis.get(keys.emailMessage(emails[3]!.record.id));
    expect(JSON.parse(message!).render).toEqual({
      template: 'digest',
      data: { name: 'M3' },
      shared: { groupId, member: 3 },
    });
  });

  it('discards the shared data with the records of a group that could not be queued', async () => {
    const emails = group(2, Date.now());
    await store.createMany(emails);
    await store.discard(emails.map((e) => e.record));
    const { groupId } = emails[0]!.shared!;
    expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
    expect(await redis.exists(keys.email(emails[0]!.record.id))).toBe(0);
  });
});

describe('EmailStore over 3 partitions (real Redis)', () => {
  const partitioned = new RedisKeys('{email-store-partitions}', 3);
  let server: PrivateRedis;
  let redis: Redis;
  let store: EmailStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    const connections = { client: redis } as unknown as RedisConnections;
    store = new EmailStore(
      connections,
      partitioned,
      new GroupDataStore(connections, partitioned, config),
      config,
    );
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('keeps each email in the partition of its id, and lists, counts and cancels them as one set', async () => {
    const now = Date.now();
    const emails = Array.from({ length: 30 }, (_, i) =>
      single(`email-${i}`, now + i, { sendAt: i % 3 === 0 ? now + 60_000 : undefined }),
    );
    await store.createMany(emails);

    const used = new Set(emails.map(({ record }) => partitioned.partitionOf(record.id)));
    expect(used).toEqual(new Set([0, 1, 2]));
    for (const { record } of emails) {
      const partition = partitioned.partitionOf(record.id);
      expect(partitioned.email(record.id)).toMatch(/^\{email-store-partitions\.p[0-2](\.\d+)?\}:/);
      expect(partitioned.email(record.id).startsWith(partitioned.queuePrefix(partition))).toBe(true);
      expect(await redis.zscore(partitioned.emailsOf('billing', partition), record.id)).toBe(
        String(record.createdAt),
      );
      expect(await redis.zscore(partitioned.unfinishedEmails(partition), record.id)).not.toBeNull();
    }

    const listed: string[] = [];
    let page = await store.page({ service: 'billing', limit: 7 });
    for (;;) {
      listed.push(...page.items.map(({ id }) => id));
      if (!page.next) break;
      page = await store.page({ service: 'billing', limit: 7 }, page.next);
    }
    expect(listed).toEqual(emails.map(({ record }) => record.id).reverse());
    expect(await store.scheduledCount()).toBe(10);
    expect(
      (await store.findMany(['email-4', 'missing', 'email-5'])).map((r) => r && 'id' in r && r.id),
    ).toEqual(['email-4', undefined, 'email-5']);

    expect(await store.cancel('email-3', now)).toBe('scheduled');
    expect(await store.scheduledCount()).toBe(9);
    await store.discard(emails.slice(10).map(({ record }) => record));
    expect(await store.scheduledCount()).toBe(3);
    expect((await store.page({ limit: 100 })).items).toHaveLength(10);
  });
});
