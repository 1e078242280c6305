import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { MAX_SCANNED_PER_PAGE } from '../common/paging';
import { RedisKeys } from '../redis/redis-keys';
import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { AuditStore, type AuditEntry } from './audit.store';

const PREFIX = '{audit-test}';
const keys = new RedisKeys(PREFIX);
const config = { email: { auditRetentionDays: 30 } } as AppConfig;

function entry(service: string, emailId: string, event: AuditEntry['event'], at: number): AuditEntry {
  return { at: new Date(at).toISOString(), event, service, emailId, requestId: null, detail: {} };
}

describe('AuditStore and append-audit.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let audit: AuditStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  beforeEach(async () => {
    await redis.flushall();
    audit = new AuditStore({ client: redis } as unknown as RedisConnections, keys, config);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('stores each entry once, in its service stream; the email list points at it', async () => {
    const now = Date.now();
    await audit.append(
      [entry('billing', 'e1', 'accepted', now), entry('billing', 'e1', 'attempt', now)],
      now,
    );
    expect(await redis.xlen(keys.auditStream('billing'))).toBe(2);
    expect((await redis.keys(`${PREFIX}:*`)).sort()).toEqual(
      [keys.auditOfEmail('e1'), keys.auditServices(), keys.auditStream('billing')].sort(),
    );
    const pointers = await redis.lrange(keys.auditOfEmail('e1'), 0, -1);
    expect(pointers).toHaveLength(2);
    for (const pointer of pointers) expect(pointer).toMatch(/^billing \d+-\d+$/);
    expect((await audit.ofEmail('e1')).map((e) => e.event)).toEqual(['accepted', 'attempt']);
  });

  it('stores an entry about no email in its service stream only, mixed with email entries in one call', async () => {
    const now = Date.now();
    const paused: AuditEntry = {
      at: new Date(now).toISOString(),
      event: 'webhook_paused',
      service: 'billing',
      emailId: null,
      requestId: null,
      detail: { webhookId: 'w1', reason: 'timeouts' },
    };
    await audit.append(
      [entry('billing', 'e1', 'accepted', now), paused, entry('alerts', 'e2', 'sent', now)],
      now,
    );
    expect(await redis.xlen(keys.auditStream('billing'))).toBe(2);
    expect(await redis.xlen(keys.auditStream('alerts'))).toBe(1);
    expect(await redis.smembers(keys.auditServices())).toEqual(expect.arrayContaining(['alerts', 'billing']));
    expect(await redis.keys(`${PREFIX}:audit:email:*`)).toEqual(
      expect.arrayContaining([keys.auditOfEmail('e1'), keys.auditOfEmail('e2')]),
    );
    expect(await redis.keys(`${PREFIX}:audit:email:*`)).toHaveLength(2);
    expect((await audit.ofEmail('e1')).map((e) => e.event)).toEqual(['accepted']);
    expect((await audit.ofEmail('e2')).map((e) => e.event)).toEqual(['sent']);
    expect((await audit.query({ service: 'billing', event: 'webhook_paused', limit: 10 })).entries).toEqual([
      paused,
    ]);
  });

  it("pages through every service's trail newest first, each entry once, across shared stream ids", async () => {
    const now = Date.now();
    const services = ['alerts', 'billing', 'sign-up'];
    // One call writes all three streams, mostly within one millisecond: their stream ids collide (and when the
    // clock ticks during the call, the later streams' ids are larger, which is the same order). Rounds are a
    // few milliseconds apart, so no round's ids interleave with the next one's.
    for (let round = 0; round < 5; round++) {
      await audit.append(
        services.map((service) => entry(service, `${service}-${round}`, 'accepted', now + round)),
        now,
      );
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    const seen: (string | null)[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await audit.query({ limit: 4, ...(after ? { after } : {}) });
      seen.push(...page.entries.map((e) => e.emailId));
      after = page.nextCursor;
      pages++;
    } while (after && pages < 10);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(15);
    expect(new Set(seen).size).toBe(15);
    expect(seen.slice(0, 3)).toEqual(['sign-up-4', 'billing-4', 'alerts-4']);

    const billing = await audit.query({ service: 'billing', limit: 2 });
    expect(billing.entries.map((e) => e.emailId)).toEqual(['billing-4', 'billing-3']);
    expect(billing.nextCursor).toMatch(/^\d+-\d+$/);
  });

  it('ends a filtered page after MAX_SCANNED_PER_PAGE entries with a cursor, and finds a rare event on a later page', async () => {
    const now = Date.now();
    await audit.append([entry('billing', 'rare', 'cancelled', now)], now);
    // Many more entries that do not match, newer than the rare one, in two services' streams.
    for (const service of ['alerts', 'billing'])
      await audit.append(
        Array.from({ length: MAX_SCANNED_PER_PAGE }, (_, i) =>
          entry(service, `${service}-${i}`, 'accepted', now),
        ),
        now,
      );
    for (const service of [undefined, 'billing']) {
      const read = jest.spyOn(redis, 'xrevrange');
      const first = await audit.query({ limit: 10, event: 'cancelled', ...(service ? { service } : {}) });
      expect(first.entries).toEqual([]);
      expect(first.nextCursor).toBeDefined();
      // Bounded Redis work: no more rows read than the page may examine, give or take a batch per stream.
      const rowsRead = await Promise.all(
        read.mock.results.map(async (result) => (await (result.value as Promise<unknown[]>)).length),
      );
      read.mockRestore();
      expect(rowsRead.reduce((sum, rows) => sum + rows, 0)).toBeLessThanOrEqual(MAX_SCANNED_PER_PAGE + 200);
      const found: (string | null)[] = [];
      let after = first.nextCursor;
      let pages = 1;
      while (after && pages++ < 10) {
        const page = await audit.query({
          limit: 10,
          event: 'cancelled',
          after,
          ...(service ? { service } : {}),
        });
        found.push(...page.entries.map((e) => e.emailId));
        after = page.nextCursor;
      }
      expect([service, found, after]).toEqual([service, ['rare'], undefined]);
    }
  });
});

describe('AuditStore over 3 partitions (real Redis)', () => {
  const partitioned = new RedisKeys('{audit-partitions}', 3);
  let server: PrivateRedis;
  let redis: Redis;
  let audit: AuditStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    audit = new AuditStore({ client: redis } as unknown as RedisConnections, partitioned, config);
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("keeps an email's entries in its partition, and reads every stream as one trail, each entry once", async () => {
    const now = Date.now();
    const ids = Array.from({ length: 12 }, (_, i) => `email-${i}`);
    expect(new Set(ids.map((id) => partitioned.partitionOf(id))).size).toBe(3);
    const paused: AuditEntry = { ...entry('billing', 'x', 'webhook_paused', now + 1), emailId: null };
    for (let round = 0; round < 3; round++) {
      await audit.append(
        [
          ...ids.map((id, i) =>
            entry(i % 2 ? 'alerts' : 'billing', id, round ? 'sent' : 'accepted', now + round),
          ),
          ...(round === 1 ? [paused] : []),
        ],
        now,
      );
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    for (const id of ids) {
      const partition = partitioned.partitionOf(id);
      expect(partitioned.auditOfEmail(id).startsWith(partitioned.queuePrefix(partition))).toBe(true);
      expect((await audit.ofEmail(id)).map((e) => e.event)).toEqual(['accepted', 'sent', 'sent']);
    }
    expect(await redis.xlen(partitioned.auditStream('billing'))).toBe(1);
    expect(await redis.smembers(partitioned.auditServices())).toEqual(
      expect.arrayContaining(['alerts', 'billing']),
    );

    for (const service of [undefined, 'billing']) {
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await audit.query({
          limit: 5,
          ...(service ? { service } : {}),
          ...(after ? { after } : {}),
        });
        seen.push(...page.entries.map((e) => `${e.emailId ?? 'none'} ${e.event} ${e.at}`));
        after = page.nextCursor;
      } while (after);
      const expected = service ? 6 * 3 + 1 : 12 * 3 + 1;
      expect(seen).toHaveLength(expected);
      expect(new Set(seen).size).toBe(expected);
      const times = seen.map((row) => row.split(' ')[2]!);
      expect(times).toEqual([...times].sort().reverse());
    }
  });
});
