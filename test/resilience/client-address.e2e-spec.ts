import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS, type HttpResult } from '../support/fixtures';
import { PrivateRedis } from '../support/private-redis';

/** A token of the right shape and checksum that no service has. */
const STRANGER = 'st_dev_' + '0'.repeat(27) + '0A9u3m';
const INLINE = { to: ['ana@example.com'], subject: 'Hi', text: 'Hello' };

function expectAddressRefused(response: HttpResult): void {
  expect(response.status).toBe(429);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body.detail).toMatch(/^Too many failed authentications from this address/);
  expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
}

/**
 * TRUST_PROXY decides the client address that failed authentications count against (AUTH_FAILURE_LIMIT,
 * here 5 a minute): only the named hops may say who the client is, no value lets every client of a range
 * choose its own address, and whatever the count of an address, a valid token from it is let in.
 */
describe('the client address of failed authentications (api)', () => {
  it('refuses to start with a TRUST_PROXY that trusts whole populations, saying what to write instead', async () => {
    for (const value of ['true', 'uniquelocal', 'loopback,linklocal']) {
      const result = await AppProcess.run({
        APP_ROLE: 'api',
        ENVIRONMENT: 'development',
        TRUST_PROXY: value,
      });
      expect([value, result.code]).toEqual([value, 1]);
      expect(result.stderr).toMatch(
        /^ {2}- TRUST_PROXY: (true|uniquelocal|linklocal) would trust every client.*, so any of them could choose its address through X-Forwarded-For: name the proxies' own addresses or CIDRs instead/m,
      );
    }
  });

  describe('with TRUST_PROXY unset (false): every client is its TCP peer', () => {
    let redis: PrivateRedis;
    let inspect: Redis;
    let api: AppProcess;
    let prefix: string;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      inspect = redis.client();
      const env: Record<string, string> = { ...baseEnv(redis), AUTH_FAILURE_LIMIT: '5/m' };
      prefix = env.QUEUE_PREFIX!;
      api = await AppProcess.start({ role: 'api', env });
    });

    afterAll(async () => {
      inspect?.disconnect();
      await api?.stop();
      await redis?.stop();
    });

    const from = (token: string | undefined, forwardedFor: string) =>
      client(api.baseUrl, token).get('/api/v1/templates', { 'x-forwarded-for': forwardedFor });

    it('counts every failure against the peer, so a client rotating X-Forwarded-For dodges nothing', async () => {
      for (let i = 0; i < 5; i++) expect((await from(STRANGER, `198.51.100.${i + 1}`)).status).toBe(401);
      for (let i = 5; i < 8; i++) expectAddressRefused(await from(STRANGER, `198.51.100.${i + 1}`));
      expect(await inspect.get(`${prefix}:auth-failures:127.0.0.1`)).toBe('8');
      expect(await inspect.keys(`${prefix}:auth-failures:198.51.100.*`)).toEqual([]);
    });

    it('lets a valid token in from an address past the limit: another service is not locked out', async () => {
      // The attacker above ran the address up past its limit; service B (reports) and billing share it.
      expectAddressRefused(await from(STRANGER, '198.51.100.99'));
      expectAddressRefused(await client(api.baseUrl).get('/api/v1/templates'));
      for (let i = 0; i < 5; i++) expect((await from(TOKENS.reports, '198.51.100.99')).status).toBe(200);
      expect((await client(api.baseUrl, TOKENS.billing).post('/api/v1/emails', INLINE)).status).toBe(202);
      // A valid token without the scope is a 403, as anywhere: refused for the route, not for the address.
      expect((await client(api.baseUrl, TOKENS.reports).post('/api/v1/emails', INLINE)).status).toBe(403);
      // The valid calls counted nothing, and the failures still do.
      expect(await inspect.get(`${prefix}:auth-failures:127.0.0.1`)).toBe('10');
    });
  });

  describe('behind a named proxy: TRUST_PROXY=127.0.0.1 (the test plays the ingress)', () => {
    let redis: PrivateRedis;
    let inspect: Redis;
    let api: AppProcess;
    let prefix: string;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      inspect = redis.client();
      const env: Record<string, string> = {
        ...baseEnv(redis),
        AUTH_FAILURE_LIMIT: '5/m',
        TRUST_PROXY: '127.0.0.1',
      };
      prefix = env.QUEUE_PREFIX!;
      api = await AppProcess.start({ role: 'api', env });
    });

    afterAll(async () => {
      inspect?.disconnect();
      await api?.stop();
      await redis?.stop();
    });

    /** A call as the ingress forwards it: X-Forwarded-For as the client sent it, the client's peer appended. */
    const through = (token: string | undefined, forwardedFor: string) =>
      client(api.baseUrl, token).get('/api/v1/templates', { 'x-forwarded-for': forwardedFor });
    const failures = (address: string) => inspect.get(`${prefix}:auth-failures:${address}`);

    it('counts against the client address the named hop forwards, each client on its own', async () => {
      for (let i = 0; i < 5; i++) expect((await through(STRANGER, '203.0.113.10')).status).toBe(401);
      expectAddressRefused(await through(STRANGER, '203.0.113.10'));
      expect((await through(STRANGER, '203.0.113.11')).status).toBe(401);
      expect(await failures('203.0.113.10')).toBe('6');
      expect(await failures('203.0.113.11')).toBe('1');
      expect(await failures('127.0.0.1')).toBeNull();
    });

    it('believes only the hop named: a private hop in the chain is the client, not whoever it names', async () => {
      // 10.1.2.3 is in a private range but not named: it could have written anything to its left.
      expect((await through(STRANGER, '203.0.113.20, 10.1.2.3')).status).toBe(401);
      expect(await failures('10.1.2.3')).toBe('1');
      expect(await failures('203.0.113.20')).toBeNull();
    });

    it("lets a client that claims service B's address run up only its own count, and B's valid token in", async () => {
      // The attacker at 198.51.100.66 writes B's address into X-Forwarded-For; the ingress appends its own.
      for (let i = 0; i < 5; i++)
        expect((await through(STRANGER, '203.0.113.30, 198.51.100.66')).status).toBe(401);
      expectAddressRefused(await through(STRANGER, '203.0.113.30, 198.51.100.66'));
      expect(await failures('203.0.113.30')).toBeNull();
      expect((await through(STRANGER, '203.0.113.30')).status).toBe(401);
      // Even from the attacker's own refused address, a valid token is let in.
      expect((await through(TOKENS.reports, '198.51.100.66')).status).toBe(200);
      expect((await through(TOKENS.reports, '203.0.113.30')).status).toBe(200);
    });
  });
});
