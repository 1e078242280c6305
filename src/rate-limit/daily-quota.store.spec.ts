import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { DailyQuotaStore } from './daily-quota.store';

const NOW = Date.parse('2026-05-01T18:00:00Z');
const keys = new RedisKeys('{quota-test}');
const EMAILS = keys.dailyQuota('billing', '2026-05-01');
const BYTES = keys.dailyByteQuota('billing', '2026-05-01');

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ProblemError,
  );

describe('DailyQuotaStore and take-daily-quota.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  /**
   * billing: 100 emails and 10,000 bytes a day; open: no quota (its byte quota set to unlimited); a service
   * that is not configured (anonymous): DAILY_BYTE_QUOTA, 5,000 bytes.
   */
  const store = (defaultByteQuota: number | null = 5000) =>
    new DailyQuotaStore({ client: redis } as unknown as RedisConnections, keys, {
      auth: {
        services: [{ service: 'billing', dailyQuota: 100, dailyByteQuota: 10_000 }, { service: 'open' }],
      },
      rateLimits: defaultByteQuota === null ? {} : { dailyByteQuota: defaultByteQuota },
    } as unknown as AppConfig);

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("takes emails and bytes from the day's counters, which live two days, and gives both back", async () => {
    const reservation = await store().take('billing', 10, 4000, NOW);
    expect(await redis.mget(EMAILS, BYTES)).toEqual(['10', '4000']);
    expect(await redis.pttl(BYTES)).toBeGreaterThan(172_790_000);
    await reservation!.release();
    expect(await redis.mget(EMAILS, BYTES)).toEqual(['0', '0']);
  });

  it('refuses bytes that do not fit with 429 until midnight UTC, counting nothing', async () => {
    const quotas = store();
    await quotas.take('billing', 1, 9000, NOW);
    const problem = await refusal(quotas.take('billing', 2, 1001, NOW));
    expect(problem).toBeInstanceOf(ProblemError);
    expect(problem!.getStatus()).toBe(429);
    expect(problem!.headers).toEqual({ 'retry-after': String(6 * 3600) });
    expect(problem!.detail).toBe(
      'These 2 emails (1001 bytes to store) would exceed the daily quota of 10000 bytes (9000 bytes accepted ' +
        'today, UTC); nothing was accepted. The quota resets at 00:00 UTC.',
    );
    expect(await redis.mget(EMAILS, BYTES)).toEqual(['1', '9000']);
    // Exactly up to the quota is fine.
    expect(await quotas.take('billing', 2, 1000, NOW)).toBeDefined();
    expect((await refusal(quotas.take('billing', 1, 1, NOW)))!.detail).toContain(
      'The daily quota of 10000 bytes stored is reached',
    );
  });

  it('refuses emails that do not fit before looking at their bytes', async () => {
    const quotas = store();
    await quotas.take('billing', 95, 10, NOW);
    const problem = await refusal(quotas.take('billing', 10, 10, NOW));
    expect(problem!.detail).toContain('These 10 emails would exceed the daily quota of 100 emails');
    expect(await redis.mget(EMAILS, BYTES)).toEqual(['95', '10']);
  });

  it('holds a service that is not configured to DAILY_BYTE_QUOTA, and counts no emails for it', async () => {
    const quotas = store();
    await quotas.take('anonymous', 3, 5000, NOW);
    expect((await refusal(quotas.take('anonymous', 1, 1, NOW)))!.getStatus()).toBe(429);
    expect(await redis.get(keys.dailyByteQuota('anonymous', '2026-05-01'))).toBe('5000');
    expect(await redis.exists(keys.dailyQuota('anonymous', '2026-05-01'))).toBe(0);
  });

  it('asks Redis nothing without any quota, or for no email', async () => {
    const sent = jest.spyOn(redis, 'sendCommand');
    expect(await store().take('open', 5, 1_000_000, NOW)).toBeUndefined();
    expect(await store(null).take('anonymous', 5, 1_000_000, NOW)).toBeUndefined();
    expect(await store().take('billing', 0, 0, NOW)).toBeUndefined();
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
  });
});
