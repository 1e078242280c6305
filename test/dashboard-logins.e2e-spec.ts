import type Redis from 'ioredis';
import type { AppProcess } from './support/app-process';
import { basicAuth, DASHBOARD, dashboardEnv, startMonitor } from './support/dashboard';
import { baseEnv, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';

const WWW_AUTHENTICATE = 'Basic realm="FreeFace dashboard", charset="UTF-8"';
const RIGHT = basicAuth(DASHBOARD.user, DASHBOARD.password);
const WRONG = basicAuth(DASHBOARD.user, 'not-the-password');
const REFUSAL_LOG = 'client address refused until its window ends';

async function expectRefused(response: Response): Promise<number> {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: 'urn:freeface:problem:rate-limited', status: 429 });
  expect(body.detail).toMatch(/^Too many failed authentications from this address; retry after \d+ s\.$/);
  const retryAfter = response.headers.get('retry-after') ?? '';
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  return Number(retryAfter);
}

async function scrapeDashboardRefusals(monitor: AppProcess): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${monitor.healthPort}/metrics`, {
    headers: { authorization: `Bearer ${TOKENS.reports}` },
  });
  const metrics = parsePrometheusText(await response.text());
  return sampleValue(metrics, 'freeface_auth_failures_total', { via: 'dashboard', outcome: 'refused' });
}

/**
 * Failed dashboard logins count against the client address under AUTH_FAILURE_LIMIT (here 3 a minute), in
 * Redis, so that every monitor replica holds one count: once it is reached, every sign-in from that address,
 * the right one too, gets 429 with Retry-After until the window ends, so guessing the password gains nothing.
 * The count is the dashboard's own: failed API calls from an address do not lock its operators out. The
 * address comes from TRUST_PROXY, as on the API.
 */
describe('failed dashboard logins (monitor role)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    inspect = redis.client();
    env = { ...baseEnv(redis), ...dashboardEnv(), AUTH_FAILURE_LIMIT: '3/m' };
  });

  afterAll(async () => {
    inspect?.disconnect();
    await redis?.stop();
  });

  describe('two replicas behind a named proxy (TRUST_PROXY=127.0.0.1: the test plays the ingress)', () => {
    let monitors: AppProcess[];

    beforeAll(async () => {
      monitors = await Promise.all([1, 2].map(() => startMonitor({ ...env, TRUST_PROXY: '127.0.0.1' })));
    });

    afterAll(async () => {
      await Promise.all((monitors ?? []).map((monitor) => monitor.stop()));
    });

    /** A request to replica i mod 2, as the ingress forwards it from `client`. */
    const from = (i: number, client: string, authorization?: string, path = '/api/overview') =>
      fetch(`http://127.0.0.1:${monitors[i % 2]!.healthPort}${path}`, {
        headers: { 'x-forwarded-for': client, ...(authorization ? { authorization } : {}) },
      });

    it('refuses every sign-in from an address past the limit on both replicas with 429 and Retry-After', async () => {
      const malformed = 'Basic !!!';
      for (const [i, authorization] of [WRONG, malformed, WRONG].entries()) {
        const response = await from(i, '198.51.100.23', authorization);
        expect([i, response.status]).toEqual([i, 401]);
        expect(response.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
      }
      for (let i = 0; i < 4; i++) {
        const retryAfter = await expectRefused(await from(i, '198.51.100.23', i % 2 ? malformed : WRONG));
        expect(retryAfter).toBeLessThanOrEqual(60);
      }

      // The right password is refused too from that address, on either replica, on every page: a throttle
      // that let the right guess in would tell a guesser when it had found it.
      for (let i = 0; i < 2; i++) {
        await expectRefused(await from(i, '198.51.100.23', RIGHT));
        await expectRefused(await from(i, '198.51.100.23', RIGHT, '/'));
      }
      // A browser's first request carries no credentials and guesses nothing: it gets the sign-in challenge.
      const challenge = await from(0, '198.51.100.23');
      expect(challenge.status).toBe(401);
      expect(challenge.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
      // Another client of the same proxy is not held back.
      expect((await from(1, '198.51.100.24', WRONG)).status).toBe(401);
      expect((await from(1, '198.51.100.24', RIGHT)).status).toBe(200);

      const prefix = env.QUEUE_PREFIX!;
      expect(await inspect.get(`${prefix}:dashboard-sign-in-failures:198.51.100.23`)).toBe('11');
      expect(await inspect.get(`${prefix}:dashboard-sign-in-failures:198.51.100.24`)).toBe('1');
      expect(await inspect.exists(`${prefix}:dashboard-sign-in-failures:127.0.0.1`)).toBe(0);
      expect(await inspect.exists(`${prefix}:auth-failures:198.51.100.23`)).toBe(0);
    });

    it("is not locked by an address's failed API calls (their count is apart)", async () => {
      await inspect.set(`${env.QUEUE_PREFIX!}:auth-failures:198.51.100.25`, '100', 'PX', 60_000);
      expect((await from(0, '198.51.100.25', RIGHT)).status).toBe(200);
    });

    it('logs the first refusal of the window once over both replicas, counts every refusal, and never logs the password', async () => {
      await waitUntil(
        () => monitors.some((monitor) => monitor.logs().some((l) => l.msg === REFUSAL_LOG)),
        5000,
        'the refusal to be logged',
      );
      const refusals = monitors.flatMap((monitor) => monitor.logs().filter((l) => l.msg === REFUSAL_LOG));
      expect(refusals).toEqual([
        expect.objectContaining({
          level: 'warn',
          ip: '198.51.100.23',
          via: 'dashboard',
          reason: 'too many failed authentications',
          failures: '3/m',
        }),
      ]);
      // Each failure within the limit is logged as before, the refused ones are not (no flood).
      const failed = monitors.flatMap((m) => m.logs().filter((l) => l.msg === 'dashboard login failed'));
      expect(failed.filter((l) => l.ip === '198.51.100.23')).toHaveLength(3);

      const counted = await Promise.all(monitors.map(scrapeDashboardRefusals));
      expect(counted.reduce((sum, value) => sum! + (value ?? 0), 0)).toBe(8);
      for (const monitor of monitors) expect(monitor.stdout.join('\n')).not.toContain('not-the-password');
    });

    it('counts a client behind a hop that is not named as that hop, whatever address it claims', async () => {
      expect((await from(0, '203.0.113.9, 10.1.2.3', WRONG)).status).toBe(401);
      expect(await inspect.get(`${env.QUEUE_PREFIX}:dashboard-sign-in-failures:10.1.2.3`)).toBe('1');
      expect(await inspect.exists(`${env.QUEUE_PREFIX}:dashboard-sign-in-failures:203.0.113.9`)).toBe(0);
    });
  });

  describe('with TRUST_PROXY unset (false)', () => {
    let monitor: AppProcess;

    beforeAll(async () => {
      monitor = await startMonitor({ ...env, QUEUE_PREFIX: `${env.QUEUE_PREFIX!}-direct` });
    });

    afterAll(async () => {
      await monitor?.stop();
    });

    it('counts every failure against the TCP peer, so rotating X-Forwarded-For dodges nothing', async () => {
      const login = (forwardedFor: string, authorization: string) =>
        fetch(`http://127.0.0.1:${monitor.healthPort}/api/overview`, {
          headers: { 'x-forwarded-for': forwardedFor, authorization },
        });
      for (let i = 0; i < 3; i++) expect((await login(`198.51.100.${i + 1}`, WRONG)).status).toBe(401);
      await expectRefused(await login('198.51.100.4', WRONG));
      await expectRefused(await login('198.51.100.5', RIGHT));
      expect(await inspect.get(`${env.QUEUE_PREFIX!}-direct:dashboard-sign-in-failures:127.0.0.1`)).toBe('5');
    });
  });
});
