import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { isRedisConnectionError, RedisUnavailableError } from './redis-unavailable.error';

describe('isRedisConnectionError', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: 0 });
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('takes a Redis out of memory under noeviction for "cannot serve now", as a real server answers it', async () => {
    await redis.set('filler', 'x'.repeat(64 * 1024));
    await redis.config('SET', 'maxmemory', '1');
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    try {
      const refused = await redis.set('more', 'y').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(/^OOM /);
      expect(isRedisConnectionError(refused)).toBe(true);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  it('takes a closed connection and our own RedisUnavailableError for "cannot serve now"', async () => {
    const closed = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    const error = await closed.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    closed.disconnect();
    expect(isRedisConnectionError(error)).toBe(true);
    expect(isRedisConnectionError(new RedisUnavailableError())).toBe(true);
  });

  it('leaves other replies (a wrong-typed key) and non-errors to be reported as bugs', async () => {
    await redis.set('plain', '1');
    const wrongType = await redis.lpush('plain', 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((wrongType as Error).message).toMatch(/^WRONGTYPE/);
    expect(isRedisConnectionError(wrongType)).toBe(false);
    expect(isRedisConnectionError('READONLY you cannot write')).toBe(false);
    expect(isRedisConnectionError(new Error('a READONLY replica said so'))).toBe(false);
  });
});
