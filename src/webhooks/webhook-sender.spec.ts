import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TargetPolicy } from './target-policy';
import { WebhookSender } from './webhook-sender';
import { signWebhook } from './webhook-signature';

/** A real local HTTP server: the sender is judged by what arrives, not by what it meant to send. */
describe('WebhookSender', () => {
  let server: Server;
  let port: number;
  const arrived: { headers: Record<string, unknown>; body: string }[] = [];
  let status = 200;

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        arrived.push({ headers: request.headers, body: Buffer.concat(chunks).toString() });
        if (status === 302) response.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        else response.writeHead(status).end('a body the sender does not keep');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    arrived.length = 0;
    status = 200;
  });

  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  // The receiver is on loopback, which no environment reaches unless WEBHOOK_ALLOWED_HOSTS holds it.
  const anyHost = new TargetPolicy({
    allowedHosts: ['127.0.0.1'],
    emptyAllowsAny: true,
    requireHttps: false,
  });

  it('POSTs the body with the Standard Webhooks headers and a signature over id, timestamp and body', async () => {
    const sender = new WebhookSender(anyHost);
    const now = 1_795_000_000_123;
    const result = await sender.send(
      `http://127.0.0.1:${port}/hooks`,
      secret,
      'evt-1',
      '{"type":"email.sent"}',
      now,
    );
    sender.close();
    expect(result).toEqual({ ok: true, status: 200 });
    expect(arrived).toHaveLength(1);
    expect(arrived[0]!.body).toBe('{"type":"email.sent"}');
    expect(arrived[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'evt-1',
      'webhook-timestamp': '1795000000',
      'webhook-signature': signWebhook(secret, 'evt-1', 1795000000, '{"type":"email.sent"}'),
    });
  });

  it('counts only a 2xx as success, and does not follow redirects', async () => {
    const sender = new WebhookSender(anyHost);
    status = 503;
    expect(await sender.send(`http://127.0.0.1:${port}/`, secret, 'e', '{}')).toEqual({
      ok: false,
      status: 503,
      error: 'HTTP 503',
    });
    status = 302;
    expect(await sender.send(`http://127.0.0.1:${port}/`, secret, 'e', '{}')).toMatchObject({
      ok: false,
      status: 302,
    });
    expect(arrived).toHaveLength(2);
    sender.close();
  });

  it('says why a connection failed', async () => {
    const sender = new WebhookSender(anyHost);
    const closed = await sender.send('http://127.0.0.1:1/', secret, 'e', '{}');
    sender.close();
    expect(closed).toMatchObject({ ok: false, error: expect.stringMatching(/^ECONNREFUSED/) });
    expect(closed).not.toHaveProperty('timedOut');
  });

  it('gives up on a receiver that does not answer in time, and says it timed out', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const sender = new WebhookSender(anyHost, 300);
    try {
      const started = Date.now();
      const result = await sender.send(
        `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`,
        secret,
        'e',
        '{}',
      );
      expect(result).toEqual({ ok: false, error: 'no answer within 0.3 s', timedOut: true });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      sender.close();
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('refuses, without connecting, a name that resolves outside the allowed networks (DNS rebinding)', async () => {
    // The name passes the URL check (allowed networks may hold it); what it resolves to (127.0.0.1) does not.
    const sender = new WebhookSender(
      new TargetPolicy({ allowedHosts: ['10.0.0.0/8'], emptyAllowsAny: false, requireHttps: false }),
    );
    const result = await sender.send(`http://localhost:${port}/`, secret, 'e', '{}');
    sender.close();
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/^refused: address .* is internal \((127\.0\.0\.0\/8|::\/96)\)/),
    });
    expect(arrived).toHaveLength(0);
  });

  it('refuses a name that resolves to loopback even when any host is allowed, and sends once it is named', async () => {
    const development = new WebhookSender(
      new TargetPolicy({ allowedHosts: [], emptyAllowsAny: true, requireHttps: false }),
    );
    const refused = await development.send(`http://localhost:${port}/`, secret, 'e', '{}');
    development.close();
    expect(refused).toEqual({ ok: false, error: expect.stringMatching(/^refused: address .* is internal/) });
    expect(arrived).toHaveLength(0);

    const named = new WebhookSender(
      new TargetPolicy({ allowedHosts: ['localhost'], emptyAllowsAny: false, requireHttps: false }),
    );
    expect(await named.send(`http://localhost:${port}/`, secret, 'e', '{}')).toEqual({
      ok: true,
      status: 200,
    });
    named.close();
    expect(arrived).toHaveLength(1);
  });

  it('refuses a URL the policy refuses before any request', async () => {
    const sender = new WebhookSender(
      new TargetPolicy({ allowedHosts: ['hooks.example.com'], emptyAllowsAny: false, requireHttps: true }),
    );
    expect(await sender.send(`http://127.0.0.1:${port}/`, secret, 'e', '{}')).toEqual({
      ok: false,
      error: 'refused: must be https outside development',
    });
    sender.close();
    expect(arrived).toHaveLength(0);
  });
});
