import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { waitUntil } from './support/ports';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { PrivateRedis } from './support/private-redis';

const CALLBACK_LIMIT_BYTES = 64 * 1024;
const ROUTES = [
  { path: '/webhooks/mailgun', contentType: 'application/json' },
  { path: '/webhooks/sendgrid', contentType: 'application/json' },
  // SNS posts its JSON as text/plain.
  { path: '/webhooks/ses', contentType: 'text/plain; charset=UTF-8' },
] as const;

/** A JSON body of about `bytes` bytes. */
const bodyOf = (bytes: number) => JSON.stringify({ padding: 'x'.repeat(bytes) });

/** The public provider-callback routes' own body limit and per-address rate limit, on the built app. */
describe('provider callbacks: their own body limit and rate limit per client address', () => {
  let redis: PrivateRedis;
  let app: AppProcess;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    app = await AppProcess.start({
      role: 'api',
      env: {
        ...baseEnv(redis),
        MAILGUN_WEBHOOK_SIGNING_KEY: `key-${randomBytes(16).toString('hex')}`,
        SENDGRID_WEBHOOK_PUBLIC_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
          .publicKey.export({ type: 'spki', format: 'der' })
          .toString('base64'),
        SES_SNS_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:123456789012:freeface-ses-events',
        PROVIDER_CALLBACK_MAX_BODY_BYTES: String(CALLBACK_LIMIT_BYTES),
        PROVIDER_CALLBACK_RATE_LIMIT: '5/m',
        // The test plays several client addresses through X-Forwarded-For, as a trusted proxy would set it.
        TRUST_PROXY: 'loopback',
      },
    });
  });

  afterAll(async () => {
    await app?.stop();
    await redis?.stop();
  });

  /** A callback POST from the client address `from` (each test uses addresses of its own). */
  const post = (
    route: (typeof ROUTES)[number],
    body: string | ReadableStream<Uint8Array>,
    from: string,
    extra: RequestInit = {},
  ) =>
    fetch(app.baseUrl + route.path, {
      method: 'POST',
      headers: { 'content-type': route.contentType, 'x-forwarded-for': from },
      body,
      ...extra,
    });
  const rejected = async (provider: string) =>
    sampleValue(
      parsePrometheusText(
        await (
          await fetch(`${app.baseUrl}/metrics`, { headers: { authorization: `Bearer ${TOKENS.reports}` } })
        ).text(),
      ),
      'freeface_callbacks_rejected_total',
      { provider, reason: 'rate_limited' },
    );

  it('refuses a body over PROVIDER_CALLBACK_MAX_BODY_BYTES with 413 problem+json on every callback route, while the API takes it', async () => {
    let address = 0;
    for (const route of ROUTES) {
      const tooLarge = await post(route, bodyOf(CALLBACK_LIMIT_BYTES + 1024), `203.0.113.${++address}`);
      expect([route.path, tooLarge.status]).toEqual([route.path, 413]);
      expect(tooLarge.headers.get('content-type')).toContain('application/problem+json');
      expect(await tooLarge.json()).toMatchObject({
        type: 'urn:freeface:problem:payload-too-large',
        detail: expect.stringContaining('PROVIDER_CALLBACK_MAX_BODY_BYTES'),
      });
      // Sent in chunks, without a Content-Length: refused as it passes the limit.
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++)
            controller.enqueue(new TextEncoder().encode(' '.repeat(CALLBACK_LIMIT_BYTES / 8)));
          controller.close();
        },
      });
      const chunked = await post(route, chunks, `203.0.113.${++address}`, { duplex: 'half' });
      expect([route.path, chunked.status]).toEqual([route.path, 413]);
      // Under the limit, the body is read and the callback checked: unsigned, so 401.
      const small = await post(route, bodyOf(CALLBACK_LIMIT_BYTES - 1024), `203.0.113.${++address}`);
      expect([route.path, small.status]).toEqual([route.path, 401]);
    }
    // The API's own routes keep MAX_BODY_BYTES.
    const email = await client(app.baseUrl, TOKENS.billing).post('/api/v1/emails', {
      to: ['ana@example.com'],
      subject: 'A long one',
      text: 'x'.repeat(CALLBACK_LIMIT_BYTES * 2),
    });
    expect(email.status).toBe(202);
  });

  it('limits each client address to PROVIDER_CALLBACK_RATE_LIMIT callbacks, all routes together: 429 problem+json with Retry-After', async () => {
    const [mailgun, sendgrid, ses] = ROUTES;
    const before = (await rejected('mailgun')) ?? 0;
    const busy = '198.51.100.7';
    for (let i = 0; i < 5; i++) expect((await post(mailgun, '{}', busy)).status).toBe(401);
    const refused = await post(mailgun, '{}', busy);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    // 5/m: one callback back every 12 s.
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(12);
    expect(await refused.json()).toMatchObject({
      type: 'urn:freeface:problem:rate-limited',
      status: 429,
      detail: expect.stringContaining('PROVIDER_CALLBACK_RATE_LIMIT'),
    });
    // The other callback routes share the address's bucket, and a large body is refused before it is read.
    expect((await post(sendgrid, '[]', busy)).status).toBe(429);
    expect((await post(ses, bodyOf(CALLBACK_LIMIT_BYTES * 4), busy)).status).toBe(429);
    // Another address is not held back, nor is the API, which has its own limits.
    expect((await post(mailgun, '{}', '198.51.100.8')).status).toBe(401);
    const api = await client(app.baseUrl, TOKENS.billing).get('/api/v1/templates', {
      'x-forwarded-for': busy,
    });
    expect(api.status).toBe(200);

    expect(await rejected('mailgun')).toBe(before + 1);
    expect(await rejected('sendgrid')).toBe(1);
    // The warning reaches the process's output asynchronously: wait for it (bounded), then check it was one.
    const warnings = () =>
      app.logs().filter((line) => String(line.msg).includes('over PROVIDER_CALLBACK_RATE_LIMIT'));
    await waitUntil(() => warnings().length > 0, 5000, 'the over-the-limit warning');
    expect(warnings()).toEqual([expect.objectContaining({ ip: busy, provider: 'mailgun', limit: '5/m' })]);
  });
});
