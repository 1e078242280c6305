import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SuppressionStore } from './suppression.store';

const keys = new RedisKeys('{suppression-test}');
const store = (redis: Redis, suppressionTtlDays: number) =>
  new SuppressionStore({ client: redis } as unknown as RedisConnections, keys, {
    email: { suppressionTtlDays },
  } as AppConfig);

describe('SuppressionStore (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('checks every recipient in one round trip, whatever the case of the address', async () => {
    const suppressions = store(redis, 0);
    await suppressions.add('Ana@Example.com', 'hard_bounce', 'sendgrid');
    await suppressions.add('bo@example.com', 'complaint', 'ses');
    const sent = jest.spyOn(redis, 'sendCommand');
    const found = await suppressions.check(['ana@example.com', 'carl@example.com', 'BO@example.com']);
    expect(found).toEqual([
      { email: 'ana@example.com', reason: 'hard_bounce' },
      { email: 'BO@example.com', reason: 'complaint' },
    ]);
    // One pipeline: every HGET goes out before any reply comes back.
    expect(sent.mock.calls.map(([command]) => command.name)).toEqual(['hget', 'hget', 'hget']);
    sent.mockRestore();
    expect(await suppressions.check([])).toEqual([]);
  });

  it('keeps entries for SUPPRESSION_TTL_DAYS, or until removed when it is 0', async () => {
    const now = Date.now();
    const forever = await store(redis, 0).add('a@example.com', 'manual', 'api:ops', now);
    expect(forever.expiresAt).toBeUndefined();
    expect(await redis.pttl(keys.suppression('a@example.com'))).toBe(-1);
    const month = await store(redis, 30).add('b@example.com', 'manual', 'api:ops', now);
    expect(month.expiresAt).toBe(now + 30 * 86_400_000);
    expect(await redis.pttl(keys.suppression('b@example.com'))).toBeGreaterThan(29 * 86_400_000);
    expect(await store(redis, 0).remove('A@example.com')).toBe(true);
    expect(await store(redis, 0).remove('a@example.com')).toBe(false);
    expect(await store(redis, 0).find('a@example.com')).toBeUndefined();
  });

  it('pages newest first, and drops entries that expired from the listing', async () => {
    const suppressions = store(redis, 0);
    for (let i = 0; i < 5; i++) await suppressions.add(`p${i}@example.com`, 'manual', 'api:ops', 1000 + i);
    await redis.del(keys.suppression('p3@example.com')); // as if it had expired
    const first = await suppressions.page(2);
    expect(first.items.map((s) => s.email)).toEqual(['p4@example.com', 'p2@example.com']);
    expect(first.next).toEqual({ score: 1002, id: 'p2@example.com' });
    const rest = await suppressions.page(10, first.next);
    expect(rest).toEqual({
      items: [
        expect.objectContaining({ email: 'p1@example.com' }),
        expect.objectContaining({ email: 'p0@example.com' }),
      ],
    });
    expect(await redis.zscore(keys.suppressions(), 'p3@example.com')).toBeNull();
  });
});
