import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { PrivateRedis } from './support/private-redis';

const INLINE = { to: ['ana@example.com'], subject: 'Hi', text: 'Hello' };

describe('service tokens', () => {
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

  it('accepts the token as a Bearer token or in X-Service-Token', async () => {
    expect((await client(api.baseUrl, TOKENS.billing).post('/api/v1/emails', INLINE)).status).toBe(202);
    const viaHeader = await client(api.baseUrl).post('/api/v1/emails', INLINE, {
      'x-service-token': TOKENS.billing,
    });
    expect(viaHeader.status).toBe(202);
  });

  it('accepts PRIMARY and SECONDARY at once, for the same service (rotation)', async () => {
    const first = await client(api.baseUrl, TOKENS.billing).post('/api/v1/emails', INLINE);
    const second = await client(api.baseUrl, TOKENS.billingNext).post('/api/v1/emails', INLINE);
    expect([first.status, second.status]).toEqual([202, 202]);
    // The email sent with the new token belongs to the same service, so the old token sees it.
    const seen = await client(api.baseUrl, TOKENS.billing).get(`/api/v1/emails/${second.body.id as string}`);
    expect(seen.body.service).toBe('billing');
  });

  it('names the service from its variable: SIGN_UP is sign-up', async () => {
    const sent = await client(api.baseUrl, TOKENS.signup).post('/api/v1/emails', INLINE);
    const status = await client(api.baseUrl, TOKENS.signup).get(`/api/v1/emails/${sent.body.id as string}`);
    expect(status.body.service).toBe('sign-up');
  });

  it('lets a read-only service read templates but not send', async () => {
    const reports = client(api.baseUrl, TOKENS.reports);
    expect((await reports.get('/api/v1/templates')).status).toBe(200);
    expect((await reports.post('/api/v1/emails', INLINE)).status).toBe(403);
  });

  it('lets an admin token read and send', async () => {
    const ops = client(api.baseUrl, TOKENS.ops);
    expect((await ops.get('/api/v1/templates')).status).toBe(200);
    expect((await ops.post('/api/v1/emails', INLINE)).status).toBe(202);
  });

  it('leaves health and the API documentation open', async () => {
    for (const path of ['/health', '/health/ready', '/docs', '/docs-json']) {
      expect([path, (await fetch(api.baseUrl + path)).status]).toEqual([path, 200]);
    }
  });
});

describe('SERVICE_AUTH_ENABLED=false', () => {
  it('attributes calls to "anonymous" and warns at start', async () => {
    const redis = await PrivateRedis.start();
    const env = { ...baseEnv(redis), SERVICE_AUTH_ENABLED: 'false' };
    const api = await AppProcess.start({ role: 'api', env });
    try {
      const anonymous = client(api.baseUrl);
      const sent = await anonymous.post('/api/v1/emails', INLINE);
      expect(sent.status).toBe(202);
      expect((await anonymous.get(`/api/v1/emails/${sent.body.id as string}`)).body.service).toBe(
        'anonymous',
      );
      expect(
        api.logs().some((line) => line.level === 'warn' && /SERVICE_AUTH_ENABLED/.test(String(line.msg))),
      ).toBe(true);
    } finally {
      await api.stop();
      await redis.stop();
    }
  });
});
