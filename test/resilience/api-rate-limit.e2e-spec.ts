import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS, type HttpResult } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';

const INLINE = { to: ['ana@example.com'], subject: 'Hi', text: 'Hello' };
const DAY_MS = 86_400_000;
/** A token of the right shape and checksum that no service has. */
const STRANGER = 'st_dev_' + '0'.repeat(27) + '0A9u3m';

const secondsToUtcMidnight = () => Math.ceil((DAY_MS - (Date.now() % DAY_MS)) / 1000);

function expectTooManyRequests(response: HttpResult): number {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type: 'urn:freeface:problem:rate-limited', status: 429 });
  const retryAfter = response.headers.get('retry-after') ?? '';
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  return Number(retryAfter);
}

/**
 * The API's limits on its callers, held in Redis and shared by two api replicas: a service over its API rate
 * limit (30/h: a bucket of 30 calls refilled at one every two minutes, so nothing refills during the test), a
 * service over its daily quota, and a client address that keeps failing authentication (its failures refused,
 * a valid token from it let in). Then the defaults, which throttle nothing, and a Redis outage, which must not
 * turn calls into 429s.
 */
describe('API rate limits, daily quota and failed-authentication slow-down (two api replicas)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let apis: AppProcess[];
  let prefix: string;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    inspect = redis.client();
    const env: Record<string, string> = {
      ...baseEnv(redis),
      SERVICE_TOKEN_BILLING_RATE_LIMIT: '30/h',
      SERVICE_TOKEN_SIGN_UP_DAILY_QUOTA: '5',
      AUTH_FAILURE_LIMIT: '10/m',
      // The test plays several clients from 127.0.0.1 with X-Forwarded-For.
      TRUST_PROXY: 'loopback',
    };
    prefix = env.QUEUE_PREFIX!;
    apis = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'api', env }),
    ]);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all((apis ?? []).map((api) => api.stop()));
    await redis?.stop();
  });

  /** The i-th call goes to replica i mod 2. */
  const replica = (i: number) => apis[i % 2]!;

  it('refuses a service over its limit on both replicas together, with Retry-After, and no other service', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await client(replica(i).baseUrl, TOKENS.billing).get('/api/v1/templates');
      expect([i, response.status]).toEqual([i, 200]);
      expect(response.headers.get('ratelimit-limit')).toBe('30');
      remaining.push(response.headers.get('ratelimit-remaining') ?? '');
    }
    expect(remaining.slice(0, 3)).toEqual(['29', '28', '27']);
    expect(remaining.at(-1)).toBe('0');

    for (const api of apis) {
      const refused = await client(api.baseUrl, TOKENS.billing).get('/api/v1/templates');
      const retryAfter = expectTooManyRequests(refused);
      // One call is refilled every 120 s.
      expect(retryAfter).toBeGreaterThan(100);
      expect(retryAfter).toBeLessThanOrEqual(120);
      expect(refused.headers.get('ratelimit-limit')).toBe('30');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
      expect(String(refused.body.detail)).toContain('30/h');
      // A POST is refused before anything runs.
      expect((await client(api.baseUrl, TOKENS.billing).post('/api/v1/emails', INLINE)).status).toBe(429);
    }
    expect(await inspect.pttl(`${prefix}:api-rate:billing`)).toBeGreaterThan(0);

    // Another service, without a limit, is untouched and gets no RateLimit headers.
    for (const api of apis) {
      const other = await client(api.baseUrl, TOKENS.reports).get('/api/v1/templates');
      expect(other.status).toBe(200);
      expect(other.headers.get('ratelimit-limit')).toBeNull();
    }
  });

  it('never limits health, the API documentation or metrics scrapes', async () => {
    for (const api of apis) {
      for (const path of ['/health', '/health/ready', '/docs-json']) {
        expect([path, (await fetch(api.baseUrl + path)).status]).toEqual([path, 200]);
      }
      // billing is over its limit, but a scrape with its token still works.
      expect((await client(api.baseUrl, TOKENS.billing).get('/metrics')).status).toBe(200);
    }
  });

  it('refuses the email that would exceed the daily quota, single or batch, counting nothing refused', async () => {
    const signup = (i: number) => client(replica(i).baseUrl, TOKENS.signup);
    const batch = (n: number) => ({ emails: Array.from({ length: n }, () => INLINE) });
    const group = {
      template: 'welcome',
      data: { name: 'Ana', product: 'FreeFace', actionUrl: 'https://app.example.com/start' },
      recipients: [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }],
    };

    expect((await signup(0).post('/api/v1/emails/batch', batch(3))).status).toBe(202);
    // 3 + 3 > 5: the whole group is refused, and nothing of it counted.
    const refusedGroup = await signup(1).post('/api/v1/emails/group', group);
    const retryAfter = expectTooManyRequests(refusedGroup);
    expect(Math.abs(retryAfter - secondsToUtcMidnight())).toBeLessThanOrEqual(5);
    expect(refusedGroup.body.detail).toBe(
      'These 3 emails would exceed the daily quota of 5 emails (3 accepted today, UTC); nothing was accepted. ' +
        'The quota resets at 00:00 UTC.',
    );
    expect(expectTooManyRequests(await signup(0).post('/api/v1/emails/batch', batch(3)))).toBeGreaterThan(0);

    expect((await signup(1).post('/api/v1/emails/batch', batch(2))).status).toBe(202);
    for (let i = 0; i < 2; i++) {
      const single = await signup(i).post('/api/v1/emails', INLINE);
      expectTooManyRequests(single);
      expect(String(single.body.detail)).toContain('The daily quota of 5 emails is reached');
    }

    // Exactly the five accepted emails exist, and the counter says five, expiring on its own.
    const listed = await signup(0).get<{ items: unknown[] }>('/api/v1/emails?limit=100');
    expect(listed.body.items).toHaveLength(5);
    const day = new Date().toISOString().slice(0, 10);
    expect(await inspect.get(`${prefix}:daily-quota:sign-up:${day}`)).toBe('5');
    const ttl = await inspect.pttl(`${prefix}:daily-quota:sign-up:${day}`);
    expect(ttl).toBeGreaterThan(DAY_MS);
    expect(ttl).toBeLessThanOrEqual(2 * DAY_MS);

    // Other services have no quota.
    expect((await client(apis[0]!.baseUrl, TOKENS.ops).post('/api/v1/emails/batch', batch(6))).status).toBe(
      202,
    );
  });

  it('refuses failed authentications from an address after 10, never a valid token, logging once without tokens', async () => {
    const from = (i: number, address: string, token?: string) =>
      client(replica(i).baseUrl, token).get('/api/v1/templates', { 'x-forwarded-for': address });
    const badTokens = [undefined, STRANGER, 'st_dev_mistyped'];

    for (let i = 0; i < 10; i++) {
      const response = await from(i, '198.51.100.23', badTokens[i % 3]);
      expect([i, response.status]).toEqual([i, 401]);
    }
    const refused = await from(10, '198.51.100.23', STRANGER);
    const retryAfter = expectTooManyRequests(refused);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.detail).toMatch(/^Too many failed authentications from this address/);
    // Every further failure from it is refused, on either replica; a valid token from it is let in.
    for (let i = 0; i < 4; i++) expectTooManyRequests(await from(i, '198.51.100.23', badTokens[i % 3]));
    for (let i = 0; i < 4; i++) expect((await from(i, '198.51.100.23', TOKENS.reports)).status).toBe(200);

    // Another address is not affected, and successful calls never count.
    for (let i = 0; i < 20; i++) expect((await from(i, '198.51.100.24', TOKENS.reports)).status).toBe(200);
    expect((await from(0, '198.51.100.24', STRANGER)).status).toBe(401);
    const ttl = await inspect.pttl(`${prefix}:auth-failures:198.51.100.23`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // One warning for the window, over both replicas, naming the address and never a token.
    await waitUntil(
      () =>
        apis.some((api) => api.logs().some((l) => l.msg === 'client address refused until its window ends')),
      5000,
      'the refusal to be logged',
    );
    const warnings = apis.flatMap((api) =>
      api.logs().filter((l) => l.msg === 'client address refused until its window ends'),
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'warn',
        ip: '198.51.100.23',
        reason: 'too many failed authentications',
        failures: '10/m',
      }),
    ]);
    const output = apis.flatMap((api) => api.stdout).join('\n');
    for (const token of [STRANGER, 'st_dev_mistyped', TOKENS.billing, TOKENS.reports])
      expect(output).not.toContain(token);
  });
});

describe('API limits with the defaults', () => {
  let redis: PrivateRedis;
  let api: AppProcess;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await AppProcess.start({ role: 'api', env: baseEnv(redis) });
  });

  afterAll(async () => {
    await api?.stop();
    await redis?.stop();
  });

  it('throttles nothing: 200 calls of one service, and a few bad tokens, never see a 429', async () => {
    const billing = client(api.baseUrl, TOKENS.billing);
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 200) {
          const i = next++;
          const response =
            i % 2 === 0
              ? await billing.post('/api/v1/emails', INLINE)
              : await billing.get('/api/v1/templates');
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.headers.get('ratelimit-limit')).toBeNull();
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 200: 100, 202: 100 });
    for (let i = 0; i < 5; i++)
      expect((await client(api.baseUrl, STRANGER).get('/api/v1/templates')).status).toBe(401);
  });

  it('lets calls through unchecked while Redis is away (200 where Redis is not needed, 503 where it is), then limits again', async () => {
    const env = { ...baseEnv(redis), SERVICE_TOKEN_BILLING_RATE_LIMIT: '1/h' };
    const limited = await AppProcess.start({ role: 'api', env });
    let isRedisAway = false;
    try {
      const billing = client(limited.baseUrl, TOKENS.billing);
      expect((await billing.get('/api/v1/templates')).status).toBe(200);
      expect((await billing.get('/api/v1/templates')).status).toBe(429);

      await redis.pause();
      isRedisAway = true;
      await waitUntil(
        async () => (await billing.post('/api/v1/emails', INLINE)).status === 503,
        10_000,
        'the API to notice that Redis is away',
      );
      // Over its limit, but the limit cannot be checked: let through rather than refused.
      expect((await billing.get('/api/v1/templates')).status).toBe(200);
      expect((await client(limited.baseUrl, STRANGER).get('/api/v1/templates')).status).toBe(401);
      expect(
        limited
          .logs()
          .filter(
            (l) => l.msg === 'request limits unchecked: Redis did not answer, so requests are let through',
          ),
      ).toHaveLength(1);

      // Redis is back (empty: a full bucket), and the limit holds again.
      await redis.resume();
      isRedisAway = false;
      await waitUntil(
        async () => (await billing.get('/api/v1/templates')).status === 429,
        10_000,
        'the limit to be checked again',
      );
      expect(limited.logs().some((l) => l.msg === 'request limits are checked again')).toBe(true);
    } finally {
      await limited.stop();
      if (isRedisAway) await redis.resume();
    }
  });
});
