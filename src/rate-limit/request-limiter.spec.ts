import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { AppLogger } from '../logging/app-logger';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { RequestLimiter } from './request-limiter';
import { UncheckedLimits } from './unchecked-limits';

const keys = new RedisKeys('{request-limiter-test}');
const thirtyPerHour = { tokensPerMs: 30 / 3_600_000, burst: 30, text: '30/h' };

/** A limiter on `redis` where billing has 30/h and ops is unlimited, under `api` (API_RATE_LIMIT). */
function limiterOn(redis: Redis, api?: AppConfig['rateLimits']['api']) {
  const logger = { setContext: jest.fn(), warn: jest.fn(), info: jest.fn() };
  const config = {
    auth: { services: [{ service: 'billing', rateLimit: thirtyPerHour }, { service: 'ops' }] },
    rateLimits: api ? { api } : {},
  } as unknown as AppConfig;
  const limiter = new RequestLimiter(
    { client: redis } as unknown as RedisConnections,
    keys,
    config,
    new UncheckedLimits(logger as unknown as AppLogger),
  );
  const headers: Record<string, string> = {};
  const admit = (service: string) =>
    limiter.admit(service, { header: (name: string, value: string) => (headers[name] = value) });
  return { limiter, admit, headers, logger };
}

describe('RequestLimiter and take-api-call.lua (real Redis)', () => {
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

  it("uses the service's own limit, else API_RATE_LIMIT, and nothing for an unlimited service", () => {
    const { limiter } = limiterOn(redis, { tokensPerMs: 1, burst: 1000, text: '1000/s' });
    expect(limiter.limitOf('billing')).toBe(thirtyPerHour);
    expect(limiter.limitOf('ops')).toBeUndefined();
    expect(limiter.limitOf('anonymous')?.text).toBe('1000/s');
  });

  it('asks Redis nothing for a service without a limit', async () => {
    const { admit, headers } = limiterOn(redis);
    const sent = jest.spyOn(redis, 'sendCommand');
    await admit('ops');
    await admit('anonymous');
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
    expect(headers).toEqual({});
  });

  it('takes one call per admission from a bucket that expires once it would be full, with the RateLimit headers', async () => {
    const { admit, headers } = limiterOn(redis);
    await admit('billing');
    expect(headers['ratelimit-limit']).toBe('30');
    expect(headers['ratelimit-remaining']).toBe('29');
    // One call is refilled every 120 s.
    expect(Number(headers['ratelimit-reset'])).toBeGreaterThan(115);
    expect(Number(headers['ratelimit-reset'])).toBeLessThanOrEqual(120);
    await admit('billing');
    expect(headers['ratelimit-remaining']).toBe('28');
    expect(await redis.pttl(keys.apiRateBucket('billing'))).toBeGreaterThan(240_000);
  });

  it('refuses a service with an empty bucket with 429 and Retry-After until its next call', async () => {
    const { admit } = limiterOn(redis);
    for (let i = 0; i < 30; i++) await admit('billing');
    const refused = await admit('billing').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ProblemError);
    const problem = refused as ProblemError;
    expect(problem.getStatus()).toBe(429);
    const retryAfter = Number(problem.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(100);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(problem.headers['ratelimit-remaining']).toBe('0');
    expect(problem.detail).toContain('30/h');
  });

  it('lets calls through when Redis does not answer, warning once until it answers again', async () => {
    const connection = new Redis(server.url, { enableOfflineQueue: false });
    await new Promise((resolve) => connection.once('ready', resolve));
    try {
      const { admit, logger } = limiterOn(connection);
      const ended = new Promise((resolve) => connection.once('end', resolve));
      connection.disconnect();
      await ended;
      for (let i = 0; i < 3; i++) await expect(admit('billing')).resolves.toBeUndefined();
      expect(logger.warn).toHaveBeenCalledTimes(1);
      await connection.connect();
      await admit('billing');
      expect(logger.info).toHaveBeenCalledWith('request limits are checked again');
    } finally {
      connection.disconnect();
    }
  });
});
