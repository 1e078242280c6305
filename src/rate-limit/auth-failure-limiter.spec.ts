import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AuthFailureLimit } from '../config/api-limits';
import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { AppLogger } from '../logging/app-logger';
import type { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { UncheckedLimits } from './unchecked-limits';

const keys = new RedisKeys('{auth-failures-test}');
const threePerMinute = { maxFailures: 3, windowMs: 60_000, text: '3/m' };

const fakeLogger = () => ({ setContext: jest.fn(), warn: jest.fn(), info: jest.fn() });

/** A limiter on `redis` with AUTH_FAILURE_LIMIT `limit`, and what it logs and counts. */
function limiterOn(redis: Redis, limit: AuthFailureLimit | 'off' = threePerMinute) {
  const logger = fakeLogger();
  const uncheckedLogger = fakeLogger();
  const metrics = { recordAuthFailure: jest.fn() };
  const limiter = new AuthFailureLimiter(
    { client: redis } as unknown as RedisConnections,
    keys,
    { rateLimits: limit === 'off' ? {} : { authFailures: limit } } as AppConfig,
    new UncheckedLimits(uncheckedLogger as unknown as AppLogger),
    metrics as unknown as PrometheusMetrics,
    logger as unknown as AppLogger,
  );
  return { limiter, logger, uncheckedLogger, metrics };
}

async function refusal(promise: Promise<unknown>): Promise<ProblemError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (outcome instanceof ProblemError) return outcome;
  throw new Error(`expected a ProblemError, got ${String(outcome)}`);
}

/** Its scripts: count-auth-failure.lua (tokens) and admit-sign-in.lua (dashboard sign-ins). */
describe('AuthFailureLimiter (real Redis)', () => {
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

  it('counts failures within the limit in a window that starts with the first and expires with it', async () => {
    const { limiter, metrics } = limiterOn(redis);
    for (let i = 0; i < 3; i++) await limiter.countFailure('203.0.113.7', 'api', 'unknown');
    expect(await redis.get(keys.authFailures('203.0.113.7'))).toBe('3');
    const ttl = await redis.pttl(keys.authFailures('203.0.113.7'));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(metrics.recordAuthFailure.mock.calls).toEqual([
      ['api', 'counted'],
      ['api', 'counted'],
      ['api', 'counted'],
    ]);
  });

  it('refuses the failures past the limit with 429 until the window ends, logging the first refusal only', async () => {
    const { limiter, logger, metrics } = limiterOn(redis);
    for (let i = 0; i < 3; i++) await limiter.countFailure('203.0.113.7', 'smtp', 'wrong');
    await redis.pexpire(keys.authFailures('203.0.113.7'), 42_000);

    const first = await refusal(limiter.countFailure('203.0.113.7', 'smtp', 'wrong'));
    expect(first.getStatus()).toBe(429);
    expect(first.problemType).toBe('rate-limited');
    expect(first.headers).toEqual({ 'retry-after': '42' });
    expect(first.detail).toBe('Too many failed authentications from this address; retry after 42 s.');
    expect((await refusal(limiter.countFailure('203.0.113.7', 'smtp', 'malformed'))).getStatus()).toBe(429);

    // Refusals do not move the end of the window.
    expect(await redis.pttl(keys.authFailures('203.0.113.7'))).toBeLessThanOrEqual(42_000);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      {
        ip: '203.0.113.7',
        via: 'smtp',
        reason: 'too many failed authentications',
        failures: '3/m',
        refusedForSeconds: 42,
        attempt: 'wrong',
      },
      'client address refused until its window ends',
    );
    expect(metrics.recordAuthFailure).toHaveBeenLastCalledWith('smtp', 'refused');
    expect(metrics.recordAuthFailure.mock.calls.filter(([, outcome]) => outcome === 'refused')).toHaveLength(
      2,
    );
  });

  it('counts each address on its own, API and SMTP together, dashboard sign-ins apart', async () => {
    const { limiter } = limiterOn(redis);
    await limiter.countFailure('203.0.113.7', 'api', 'missing');
    await limiter.countFailure('203.0.113.7', 'smtp', 'wrong-service');
    await limiter.countFailure('203.0.113.7', 'dashboard', 'wrong');
    await limiter.countFailure('203.0.113.7', 'api', 'unknown');
    expect((await refusal(limiter.countFailure('203.0.113.7', 'api', 'unknown'))).getStatus()).toBe(429);
    await expect(limiter.admitSignIn('203.0.113.7')).resolves.toBeUndefined();
    await expect(limiter.countFailure('203.0.113.8', 'api', 'unknown')).resolves.toBeUndefined();
    expect(await redis.get(keys.authFailures('203.0.113.8'))).toBe('1');
    expect(await redis.get(keys.dashboardSignInFailures('203.0.113.7'))).toBe('1');
  });

  it('refuses every dashboard sign-in once its failures reach the limit, logging the first refusal only', async () => {
    const { limiter, logger, metrics } = limiterOn(redis);
    for (let i = 0; i < 3; i++) {
      await limiter.admitSignIn('203.0.113.7');
      await limiter.countFailure('203.0.113.7', 'dashboard', 'wrong');
    }
    await redis.pexpire(keys.dashboardSignInFailures('203.0.113.7'), 42_000);
    for (let i = 0; i < 3; i++) {
      const refused = await refusal(limiter.admitSignIn('203.0.113.7'));
      expect([refused.getStatus(), refused.headers]).toEqual([429, { 'retry-after': '42' }]);
    }
    await expect(limiter.admitSignIn('203.0.113.8')).resolves.toBeUndefined();
    expect(await redis.pttl(keys.dashboardSignInFailures('203.0.113.7'))).toBeLessThanOrEqual(42_000);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ ip: '203.0.113.7', via: 'dashboard', attempt: 'sign-in past the limit' }),
      'client address refused until its window ends',
    );
    expect(metrics.recordAuthFailure.mock.calls.filter(([, outcome]) => outcome === 'refused')).toEqual([
      ['dashboard', 'refused'],
      ['dashboard', 'refused'],
      ['dashboard', 'refused'],
    ]);
  });

  it('gives a counter left without an expiry the window again, so no address is refused forever', async () => {
    const { limiter } = limiterOn(redis);
    await redis.set(keys.authFailures('203.0.113.7'), '3');
    expect((await refusal(limiter.countFailure('203.0.113.7', 'api', 'unknown'))).headers).toEqual({
      'retry-after': '60',
    });
    expect(await redis.pttl(keys.authFailures('203.0.113.7'))).toBeGreaterThan(55_000);
  });

  it('asks Redis nothing when AUTH_FAILURE_LIMIT is off, and still counts the failure in the metric', async () => {
    const { limiter, metrics } = limiterOn(redis, 'off');
    const sent = jest.spyOn(redis, 'sendCommand');
    for (let i = 0; i < 5; i++) await limiter.countFailure('203.0.113.7', 'api', 'unknown');
    expect(sent).not.toHaveBeenCalled();
    sent.mockRestore();
    expect(metrics.recordAuthFailure).toHaveBeenCalledTimes(5);
  });

  it('lets failures through uncounted while Redis does not answer, saying so once, and counts again after', async () => {
    const connection = new Redis(server.url, { enableOfflineQueue: false });
    await new Promise((resolve) => connection.once('ready', resolve));
    try {
      const { limiter, uncheckedLogger } = limiterOn(connection);
      const ended = new Promise((resolve) => connection.once('end', resolve));
      connection.disconnect();
      await ended;
      for (let i = 0; i < 5; i++)
        await expect(limiter.countFailure('203.0.113.7', 'api', 'unknown')).resolves.toBeUndefined();
      expect(uncheckedLogger.warn).toHaveBeenCalledTimes(1);
      expect(uncheckedLogger.warn).toHaveBeenCalledWith(
        { err: { message: expect.stringContaining('Connection is closed') as string } },
        'request limits unchecked: Redis did not answer, so requests are let through',
      );

      await connection.connect();
      await limiter.countFailure('203.0.113.7', 'api', 'unknown');
      expect(uncheckedLogger.info).toHaveBeenCalledWith('request limits are checked again');
      expect(await redis.get(keys.authFailures('203.0.113.7'))).toBe('1');
    } finally {
      connection.disconnect();
    }
  });
});
