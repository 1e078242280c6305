import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { parseRateLimit } from '../common/rate';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { CallbackRateLimiter } from './callback-rate-limiter';

const keys = new RedisKeys('{callback-limit-test}');

describe('CallbackRateLimiter and take-callback-token.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let limiter: CallbackRateLimiter;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    limiter = new CallbackRateLimiter({ client: redis } as unknown as RedisConnections, keys);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('admits a burst per address, then refuses until a token is back, counting the refusals of the run', async () => {
    const limit = parseRateLimit('2/m')!;
    expect(limit.burst).toBe(1);
    expect(await limiter.take('192.0.2.1', limit)).toEqual({ admitted: true });
    const refused = await limiter.take('192.0.2.1', limit);
    expect(refused).toMatchObject({ admitted: false, refusals: 1 });
    const { retryAfterMs } = refused as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(29_000);
    expect(retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(await limiter.take('192.0.2.1', limit)).toMatchObject({ admitted: false, refusals: 2 });
    // Another address has a bucket of its own.
    expect(await limiter.take('192.0.2.2', limit)).toEqual({ admitted: true });
  });

  it('keeps a bucket only until it would be full again, and starts the count of refusals again once admitted', async () => {
    const limit = parseRateLimit('10/s', '3')!;
    for (let i = 0; i < 3; i++) expect(await limiter.take('192.0.2.1', limit)).toEqual({ admitted: true });
    expect(await limiter.take('192.0.2.1', limit)).toMatchObject({ admitted: false, refusals: 1 });
    const ttl = await redis.pttl(keys.callbackRateBucket('192.0.2.1'));
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(300 + 1000);

    // A token is back after 100 ms at 10/s: wait for it, then the run of refusals is over.
    const deadline = Date.now() + 5000;
    let answer = await limiter.take('192.0.2.1', limit);
    while (!answer.admitted && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, answer.admitted ? 0 : answer.retryAfterMs));
      answer = await limiter.take('192.0.2.1', limit);
    }
    expect(answer).toEqual({ admitted: true });
    expect(await redis.hget(keys.callbackRateBucket('192.0.2.1'), 'refused')).toBe('0');
  });
});
