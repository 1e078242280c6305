import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';
import { WebhookReceiver } from './support/webhook-receiver';

type Api = ReturnType<typeof client>;
type Delivery = { status: string; attempts: number; lastError: string | null };

/**
 * Where webhooks may go, in development (where an empty WEBHOOK_ALLOWED_HOSTS lets any public host through):
 * the service's own host and networks stay out in every spelling, at creation for addresses and at connection
 * for names, unless WEBHOOK_ALLOWED_HOSTS names them.
 */
describe('webhook targets (api,worker process in development, a local receiver)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    [redis, sink, receiver] = await Promise.all([
      PrivateRedis.start(),
      SmtpSink.start(),
      WebhookReceiver.start(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([receiver?.stop(), sink?.stop(), redis?.stop()]);
  });

  const start = (extra: Record<string, string> = {}) =>
    AppProcess.start({
      role: 'api,worker',
      env: { ...baseEnv(redis, sink), ...extra },
    });

  const createWebhook = (api: Api, url: string) =>
    api.post('/api/v1/webhooks', { url, events: ['email.sent'] });

  /** The webhook's first delivery once it was attempted (a refused target is not retried: it is failed). */
  const firstDelivery = async (api: Api, webhookId: string): Promise<Delivery> => {
    let delivery: Delivery | undefined;
    await waitUntil(
      async () => {
        const page = await api.get<{ items: Delivery[] }>(`/api/v1/webhooks/${webhookId}/deliveries`);
        delivery = page.body.items.find((item) => item.attempts > 0);
        return delivery !== undefined;
      },
      15_000,
      `an attempted delivery of webhook ${webhookId}`,
    );
    return delivery!;
  };

  const sendEmail = async (api: Api) => {
    const accepted = await api.post('/api/v1/emails', { to: ['ana@example.com'], subject: 'Hi', text: 'Hi' });
    expect(accepted.status).toBe(202);
  };

  describe('with WEBHOOK_ALLOWED_HOSTS empty', () => {
    let app: AppProcess;
    let billing: Api;

    beforeAll(async () => {
      app = await start();
      billing = client(app.baseUrl, TOKENS.billing);
    });
    afterAll(() => app?.stop());

    it.each([
      ['0.0.0.0/8', ['http://0.0.0.0/hooks', 'http://0/hooks']],
      ['10.0.0.0/8', ['http://10.1.2.3/hooks', 'http://[::ffff:10.1.2.3]/hooks']],
      ['100.64.0.0/10', ['http://100.64.0.1/hooks']],
      ['127.0.0.0/8', ['http://127.0.0.1/hooks', 'http://0x7f.1/hooks', 'http://[::ffff:7f00:1]/hooks']],
      ['172.16.0.0/12', ['http://172.16.5.4/hooks']],
      ['192.168.0.0/16', ['http://192.168.1.10/hooks']],
      ['::/96', ['http://[::1]/hooks', 'http://[::]/hooks']],
      ['fc00::/7', ['http://[fd00::1]/hooks']],
      ['64:ff9b::/96', ['http://[64:ff9b::a9fe:a9fe]/hooks', 'http://[64:ff9b::10.0.0.1]/hooks']],
    ])('refuses %s with 400 problem+json naming the range', async (cidr, urls) => {
      for (const url of urls) {
        const refused = await createWebhook(billing, url);
        expect([url, refused.status]).toEqual([url, 400]);
        expect(refused.headers.get('content-type')).toContain('application/problem+json');
        expect(refused.body.errors).toEqual([
          { field: 'url', message: expect.stringContaining(`is internal (${cidr})`) },
        ]);
      }
    });

    it('refuses link-local and metadata addresses, and still takes a public host', async () => {
      for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/'])
        expect((await createWebhook(billing, url)).status).toBe(400);
      const created = await createWebhook(billing, 'https://hooks.example.com/freeface');
      expect(created.status).toBe(201);
      expect((await billing.delete(`/api/v1/webhooks/${String(created.body.id)}`)).status).toBe(204);
    });

    it('refuses, when it connects, a host name that resolves to a loopback address', async () => {
      // A name cannot be judged when the webhook is made: what it resolves to is checked on every connection.
      const created = await createWebhook(billing, `http://localhost:${receiver.port}/hooks`);
      expect(created.status).toBe(201);
      await sendEmail(billing);
      const delivery = await firstDelivery(billing, String(created.body.id));
      expect(delivery).toMatchObject({
        status: 'failed',
        lastError: expect.stringMatching(/^refused: address (127\.0\.0\.1|::1) is internal/),
      });
      expect(receiver.received).toEqual([]);
      expect((await billing.delete(`/api/v1/webhooks/${String(created.body.id)}`)).status).toBe(204);
    });
  });

  describe('with the receiver allowed by CIDR and by name', () => {
    let app: AppProcess;
    let billing: Api;

    beforeAll(async () => {
      app = await start({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32,localhost' });
      billing = client(app.baseUrl, TOKENS.billing);
    });
    afterAll(() => app?.stop());

    it('delivers to both, and to nothing else of the loopback range', async () => {
      const byCidr = await createWebhook(billing, `${receiver.url}?by=cidr`);
      const byName = await createWebhook(billing, `http://localhost:${receiver.port}/hooks?by=name`);
      expect([byCidr.status, byName.status]).toEqual([201, 201]);
      expect((await createWebhook(billing, `http://127.0.0.2:${receiver.port}/hooks`)).status).toBe(400);
      expect((await createWebhook(billing, `http://[::1]:${receiver.port}/hooks`)).status).toBe(400);

      await sendEmail(billing);
      for (const webhook of [byCidr, byName])
        expect(await firstDelivery(billing, String(webhook.body.id))).toMatchObject({
          status: 'succeeded',
          lastError: null,
        });
      expect(receiver.received.map((hook) => hook.json.type)).toEqual(['email.sent', 'email.sent']);
    });
  });
});
