import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { AppLogger } from '../logging/app-logger';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { RequestLimiter, type AuthOutcome } from './request-limiter';

const thirtyPerMinute = { tokensPerMs: 0.0005, burst: 30, text: '30/m' };
const tenPerMinute = { maxFailures: 10, windowMs: 60_000, text: '10/m' };

/** A limiter over a fake Redis whose script answers `answer` (or throws it, when it is an Error). */
function limiterWith(answer: unknown, rateLimits: Partial<AppConfig['rateLimits']> = {}) {
  const script = jest.fn(() => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)));
  const logger = { setContext: jest.fn(), warn: jest.fn(), info: jest.fn() };
  const config = {
    auth: {
      services: [
        { service: 'billing', rateLimit: thirtyPerMinute },
        { service: 'ops' }, // unlimited, even under a default
      ],
    },
    rateLimits,
  } as unknown as AppConfig;
  const connections = { client: { freefaceAdmitRequest: script } } as unknown as RedisConnections;
  const limiter = new RequestLimiter(
    connections,
    new RedisKeys('{t}'),
    config,
    logger as unknown as AppLogger,
  );
  const headers: Record<string, string> = {};
  const reply = { header: (name: string, value: string) => (headers[name] = value) };
  const admit = (outcome: AuthOutcome, address = '203.0.113.7') => limiter.admit(address, outcome, reply);
  return { limiter, script, logger, headers, admit };
}

async function refusal(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('admitted');
}

describe('RequestLimiter', () => {
  it('asks Redis nothing when no limit applies', async () => {
    const { script, admit } = limiterWith(['allowed']);
    await admit({ service: 'ops' });
    await admit({ failure: 'unknown' });
    await admit({ service: 'somebody-unknown' });
    expect(script).not.toHaveBeenCalled();
  });

  it("uses the service's own limit, else API_RATE_LIMIT, and nothing for an unlimited service", () => {
    const { limiter } = limiterWith(['allowed'], { api: { tokensPerMs: 1, burst: 1000, text: '1000/s' } });
    expect(limiter.limitOf('billing')).toBe(thirtyPerMinute);
    expect(limiter.limitOf('ops')).toBeUndefined();
    expect(limiter.limitOf('anonymous')?.text).toBe('1000/s');
  });

  it('takes a token in one script call and sets the RateLimit headers', async () => {
    const { script, headers, admit } = limiterWith(['allowed', 28, 4000]);
    await admit({ service: 'billing' });
    expect(script).toHaveBeenCalledTimes(1);
    expect(script).toHaveBeenCalledWith(
      '{t}:auth-failures:203.0.113.7',
      '{t}:api-rate:billing',
      0,
      0,
      0,
      0.0005,
      30,
    );
    expect(headers).toEqual({ 'ratelimit-limit': '30', 'ratelimit-remaining': '28', 'ratelimit-reset': '4' });
  });

  it('refuses a service over its limit with 429 and Retry-After', async () => {
    const { admit } = limiterWith(['limited', 1200]);
    const problem = await refusal(admit({ service: 'billing' }));
    expect(problem.getStatus()).toBe(429);
    expect(problem.headers['retry-after']).toBe('2');
  });

  it('counts a failed authentication against the address, and lets it through to its 401', async () => {
    const { script, admit } = limiterWith(['failed'], { authFailures: tenPerMinute });
    await admit({ failure: 'malformed' });
    expect(script).toHaveBeenCalledWith(
      '{t}:auth-failures:203.0.113.7',
      '{t}:auth-failures:203.0.113.7',
      10,
      60_000,
      1,
      0,
      1,
    );
  });

  it('checks the address of an authenticated call too, at no extra call', async () => {
    const { script, headers, admit } = limiterWith(['allowed'], { authFailures: tenPerMinute });
    await admit({ service: 'ops' });
    expect(script).toHaveBeenCalledTimes(1);
    expect(headers).toEqual({});
  });

  it('refuses a blocked address whatever it presents, logging only the first refusal of the window', async () => {
    const first = limiterWith(['blocked', 30_500, 1], { authFailures: tenPerMinute });
    const problem = await refusal(first.admit({ failure: 'unknown' }));
    expect(problem.getStatus()).toBe(429);
    expect(problem.headers).toEqual({ 'retry-after': '31' });
    expect(first.logger.warn).toHaveBeenCalledWith(
      {
        ip: '203.0.113.7',
        reason: 'too many failed authentications',
        failures: '10/m',
        refusedForSeconds: 31,
        attempt: 'unknown',
      },
      'client address refused until its window ends',
    );

    const later = limiterWith(['blocked', 20_000, 2], { authFailures: tenPerMinute });
    expect((await refusal(later.admit({ service: 'billing' }))).getStatus()).toBe(429);
    expect(later.logger.warn).not.toHaveBeenCalled();
  });

  it('lets requests through when Redis does not answer, warning once until it answers again', async () => {
    const { limiter, script, logger, admit } = limiterWith(new Error('Connection is closed.'), {
      authFailures: tenPerMinute,
    });
    await expect(admit({ service: 'billing' })).resolves.toBeUndefined();
    await expect(admit({ failure: 'unknown' })).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(
      { err: { message: 'Connection is closed.' } },
      'request limits unchecked: Redis did not answer, so requests are let through',
    );

    script.mockImplementation(() => Promise.resolve(['allowed']));
    await limiter.admit('203.0.113.7', { service: 'ops' }, { header: () => undefined });
    expect(logger.info).toHaveBeenCalledWith('request limits are checked again');
  });
});
