import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { AppProcess } from './support/app-process';
import { webhookJobKey } from './support/bull-keys';
import { basicAuth, DASHBOARD, dashboardEnv, startMonitor } from './support/dashboard';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { base64Cores, dumpRedis, secretForms } from './support/secret-scanner';
import { SmtpSink } from './support/smtp-sink';
import { afterEndpointsReload } from './support/webhook-endpoint-reloads';
import { verifySignature, WebhookReceiver, type ReceivedWebhook } from './support/webhook-receiver';

/** The signature recipes of docs/WEBHOOKS.md, one per client-example language. */
const VERIFIERS: [string, string][] = [
  ['python3', join(__dirname, '..', 'docs', 'examples', 'verify_webhook.py')],
  [process.execPath, join(__dirname, '..', 'docs', 'examples', 'verify-webhook.mjs')],
  ['bash', join(__dirname, '..', 'docs', 'examples', 'verify-webhook.sh')],
];
const MAILGUN_KEY = `key-${randomBytes(16).toString('hex')}`;
/** The processes that send webhooks (the api tells of cancellations, the worker of the rest). */
const PROCESSES = 2;
type Api = ReturnType<typeof client>;
type Webhook = { id: string; secret: string; url: string; events: string[] };
type Delivery = {
  id: string;
  eventId: string;
  emailId: string;
  status: string;
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
};

/**
 * Outbound webhooks end to end: an api and a worker process, a real SMTP sink and local receivers that check
 * every signature with the recipe in docs/WEBHOOKS.md. Each test makes the webhooks, receivers and
 * suppressions it needs; after it, every webhook and suppression is removed, so no test hears another's events.
 */
describe('outbound webhooks (api + worker processes, local receivers)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: Api;
  let signup: Api;
  let ops: Api;
  let env: Record<string, string>;
  let inspect: Redis;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    env = {
      ...baseEnv(redis, sink),
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '500ms,1s,1s,2s',
      WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
      MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
    };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
    ops = client(api.baseUrl, TOKENS.ops);
    inspect = redis.client();
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.stop()));
    const webhooks = (await ops.get<{ items: { id: string }[] }>('/api/v1/webhooks?limit=100')).body.items;
    if (webhooks.length > 0)
      await afterEndpointsReload(redis, env.QUEUE_PREFIX!, PROCESSES, async () => {
        for (const { id } of webhooks) expect((await ops.delete(`/api/v1/webhooks/${id}`)).status).toBe(204);
      });
    const suppressed = (await ops.get<{ items: { email: string }[] }>('/api/v1/suppressions?limit=100')).body
      .items;
    for (const { email } of suppressed)
      expect((await ops.delete(`/api/v1/suppressions/${encodeURIComponent(email)}`)).status).toBe(204);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  /** A receiver that is stopped after the test. */
  const startReceiver = async () => {
    const receiver = await WebhookReceiver.start();
    receivers.push(receiver);
    return receiver;
  };

  /** A new webhook, once every process has it (each reloads the endpoints within a second of a change). */
  const createWebhook = (as: Api, url: string, events: string[]) =>
    afterEndpointsReload(redis, env.QUEUE_PREFIX!, PROCESSES, async () => {
      const created = await as.post('/api/v1/webhooks', { url, events, description: 'e2e' });
      expect(created.status).toBe(201);
      return created.body as Webhook;
    });

  /**
   * A webhook's `count` deliveries once each is over: succeeded or failed, and its job gone from the queue
   * (finished jobs are dropped), so that no attempt of it can still come.
   */
  const finishedDeliveries = async (as: Api, webhookId: string, count: number, timeoutMs = 20_000) => {
    let items: Delivery[] = [];
    await waitUntil(
      async () => {
        items = (await as.get<{ items: Delivery[] }>(`/api/v1/webhooks/${webhookId}/deliveries`)).body.items;
        if (items.length !== count) return false;
        if (!items.every((d) => d.status === 'succeeded' || d.status === 'failed')) return false;
        const jobs = await Promise.all(
          items.map((d) => inspect.exists(webhookJobKey(env.QUEUE_PREFIX!, d.id))),
        );
        return jobs.every((exists) => exists === 0);
      },
      timeoutMs,
      `${count} finished deliveries of webhook ${webhookId}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; it has ${JSON.stringify(items)}`);
    });
    return items;
  };

  const suppress = async (email: string) =>
    expect((await ops.post('/api/v1/suppressions', { email, reason: 'manual' })).status).toBe(201);

  const sendEmail = async (as: Api, to = 'ana@example.com', extra: Record<string, unknown> = {}) => {
    const accepted = await as.post('/api/v1/emails', { to: [to], subject: 'Hello', text: 'Hi', ...extra });
    expect(accepted.status).toBe(202);
    return accepted.body.id as string;
  };

  const signatureHolds = (secret: string, hook: ReceivedWebhook) =>
    verifySignature(
      secret,
      { id: hook.id, timestamp: String(hook.timestamp), signature: hook.signature },
      hook.body,
    );

  it('creates a webhook with a whsec_ secret shown once, and never stores it in Redis as it is', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const shown = await billing.get(`/api/v1/webhooks/${webhook.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: webhook.id,
      url: receiver.url,
      service: 'billing',
      allServices: false,
    });
    expect(JSON.stringify(shown.body)).not.toContain(webhook.secret.slice(6, 30));
    const listed = await billing.get('/api/v1/webhooks');
    expect(listed.body).toMatchObject({ items: [{ id: webhook.id }], nextCursor: null });
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');

    // A retried POST with an Idempotency-Key gets the same webhook and secret back, and no second webhook.
    const request = { url: `${receiver.url}?second`, events: ['email.dead'] };
    const first = await billing.post('/api/v1/webhooks', request, { 'idempotency-key': 'create-hook-1' });
    const replay = await billing.post('/api/v1/webhooks', request, { 'idempotency-key': 'create-hook-1' });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const second = first.body as { id: string; secret: string };
    expect((await billing.get<{ items: unknown[] }>('/api/v1/webhooks')).body.items).toHaveLength(2);

    const stored = (await dumpRedis(inspect)).map((entry) => `${entry.key} ${entry.text}`).join('\n');
    expect(stored).toContain(webhook.id);
    expect(stored).toContain(second.id);
    for (const secret of [webhook.secret, second.secret]) {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const forms = [
        ...secretForms(secret),
        ...base64Cores(key).map((text) => ({ form: 'key base64', text })),
        { form: 'key hex', text: key.toString('hex') },
      ];
      expect(forms.length).toBeGreaterThan(3);
      for (const { form, text } of forms) expect([form, stored.includes(text)]).toEqual([form, false]);
    }
  });

  it('sends a signed email.sent for a delivered email, verified with the documented recipe', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    const emailId = await sendEmail(billing);
    const hook = await receiver.waitFor(
      (h) => h.json.type === 'email.sent' && h.json.data.emailId === emailId,
      'email.sent',
    );
    expect(signatureHolds(webhook.secret, hook)).toBe(true);
    expect(signatureHolds(`whsec_${randomBytes(32).toString('base64')}`, hook)).toBe(false);
    expect(Math.abs(hook.timestamp - Date.now() / 1000)).toBeLessThan(30);
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.json).toEqual({
      type: 'email.sent',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: {
        emailId,
        service: 'billing',
        status: 'sent',
        to: ['ana@example.com'],
        provider: 'smtp',
        providerMessageId: expect.any(String),
        reason: null,
      },
    });
    // Never the message body.
    expect(hook.body).not.toContain('Hi"');

    // The three client-example recipes of docs/WEBHOOKS.md say the same, and refuse a changed body.
    expect(VERIFIERS).toHaveLength(3);
    for (const [command, script] of VERIFIERS) {
      const run = (body: string) =>
        spawnSync(command, [script, hook.id, String(hook.timestamp), hook.signature], {
          input: body,
          env: { ...process.env, FREEFACE_WEBHOOK_SECRET: webhook.secret },
          encoding: 'utf8',
        });
      const good = run(hook.body);
      expect([script, good.status, good.stdout.trim()]).toEqual([script, 0, 'valid']);
      const changed = run(hook.body.replace('"sent"', '"dead"'));
      expect([script, changed.status]).toEqual([script, 1]);
    }
    const deliveries = await billing.get<{ items: Record<string, unknown>[] }>(
      `/api/v1/webhooks/${webhook.id}/deliveries?status=succeeded`,
    );
    expect(deliveries.body.items).toEqual([
      expect.objectContaining({
        eventId: hook.id,
        emailId,
        status: 'succeeded',
        attempts: 1,
        responseStatus: 200,
      }),
    ]);
  });

  it('sends each event once to a receiver that answers at once', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    const ids = await Promise.all(
      Array.from({ length: 5 }, (_, i) => sendEmail(billing, `once${i}@example.com`)),
    );
    const deliveries = await finishedDeliveries(billing, webhook.id, 5);
    expect(deliveries.map((d) => [d.status, d.attempts])).toEqual(ids.map(() => ['succeeded', 1]));
    expect([...receiver.acknowledged().values()]).toEqual([1, 1, 1, 1, 1]);
    expect(receiver.received.map((h) => h.json.data.emailId).sort()).toEqual([...ids].sort());
  });

  it('tells of a cancelled email (from the api process) and of a suppressed one (from the worker)', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(billing, receiver.url, ['email.cancelled', 'email.suppressed']);
    const scheduled = await sendEmail(billing, 'ana@example.com', {
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await billing.delete(`/api/v1/emails/${scheduled}`)).status).toBe(200);
    const cancelled = await receiver.waitFor(
      (h) => h.json.type === 'email.cancelled' && h.json.data.emailId === scheduled,
      'email.cancelled',
    );
    expect(cancelled.json.data.status).toBe('cancelled');

    await suppress('gone@example.com');
    const suppressedId = await sendEmail(billing, 'gone@example.com');
    const suppressed = await receiver.waitFor(
      (h) => h.json.type === 'email.suppressed' && h.json.data.emailId === suppressedId,
      'email.suppressed',
    );
    expect(suppressed.json.data).toMatchObject({
      status: 'suppressed',
      to: ['gone@example.com'],
      reason: 'manual',
    });
    expect(signatureHolds(webhook.secret, suppressed)).toBe(true);
  });

  it('fires email.complained when a provider reports a complaint, naming the one recipient', async () => {
    const receiver = await startReceiver();
    await createWebhook(billing, receiver.url, ['email.sent', 'email.complained']);
    const emailId = await sendEmail(billing, 'cara@example.com');
    await receiver.waitFor((h) => h.json.type === 'email.sent' && h.json.data.emailId === emailId, 'sent');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = randomBytes(25).toString('hex');
    const callback = await client(api.baseUrl).post('/webhooks/mailgun', {
      signature: {
        timestamp,
        token,
        signature: createHmac('sha256', MAILGUN_KEY)
          .update(timestamp + token)
          .digest('hex'),
      },
      'event-data': {
        id: randomBytes(11).toString('base64url'),
        event: 'complained',
        recipient: 'cara@example.com',
        'user-variables': { email_id: emailId },
      },
    });
    expect(callback.status).toBe(200);
    const complained = await receiver.waitFor(
      (h) => h.json.type === 'email.complained' && h.json.data.emailId === emailId,
      'email.complained',
    );
    expect(complained.json.data).toMatchObject({
      status: 'complained',
      to: ['cara@example.com'],
      provider: 'mailgun',
      reason: 'complaint',
    });
  });

  it("sends a service only its own emails' events; an admin's webhook hears every service", async () => {
    const [receiver, adminReceiver] = [await startReceiver(), await startReceiver()];
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    await createWebhook(ops, adminReceiver.url, ['email.sent']);
    const theirs = await sendEmail(signup);
    const ours = await sendEmail(billing);
    await adminReceiver.waitFor(
      (h) => h.json.data.emailId === theirs,
      "sign-up's email at the admin's webhook",
    );
    await adminReceiver.waitFor(
      (h) => h.json.data.emailId === ours,
      "billing's email at the admin's webhook",
    );
    await receiver.waitFor((h) => h.json.data.emailId === ours, "billing's email at billing's webhook");
    // An event's deliveries are all recorded before any is sent: once the admin's webhook heard of sign-up's
    // email, billing's webhook would list a delivery of it too, had it been given one.
    const billingDeliveries = await billing.get<{ items: Delivery[] }>(
      `/api/v1/webhooks/${webhook.id}/deliveries`,
    );
    expect(billingDeliveries.body.items.map((d) => d.emailId)).toEqual([ours]);
    expect(receiver.received.map((h) => h.json.data.emailId)).toEqual([ours]);
    // Nor may it see another service's webhook.
    expect((await signup.get(`/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await signup.delete(`/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await signup.get(`/api/v1/webhooks/${webhook.id}/deliveries`)).status).toBe(404);
    expect((await ops.get(`/api/v1/webhooks/${webhook.id}`)).status).toBe(200);
  });

  it('delivers every event exactly once per event id after the receiver was down for a while', async () => {
    const receiver = await startReceiver();
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    await receiver.stop();
    const ids = await Promise.all(
      Array.from({ length: 5 }, (_, i) => sendEmail(billing, `down${i}@example.com`)),
    );
    // Down until every delivery has failed at least twice (connection refused).
    await waitUntil(
      async () => {
        const page = await billing.get<{ items: Delivery[] }>(`/api/v1/webhooks/${webhook.id}/deliveries`);
        return ids.every((id) => page.body.items.some((d) => d.emailId === id && d.attempts >= 2));
      },
      15_000,
      'two failed attempts of each delivery',
    );
    await receiver.listen();
    const deliveries = await finishedDeliveries(billing, webhook.id, 5);
    for (const delivery of deliveries) {
      expect(delivery.status).toBe('succeeded');
      expect(delivery.attempts).toBeGreaterThanOrEqual(3);
      expect(delivery.lastError).toBeNull();
    }
    expect([...receiver.acknowledged().values()]).toEqual([1, 1, 1, 1, 1]);
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((h) => h.json.data.emailId))).toEqual(new Set(ids));
    for (const hook of receiver.received) expect(signatureHolds(webhook.secret, hook)).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${worker.healthPort}/metrics`, {
      headers: { authorization: `Bearer ${TOKENS.billing}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/freeface_webhook_deliveries_total\{outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/freeface_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
  });

  it('fails a delivery once its retries run out, lists it, and sends it again on request with the same event id', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => 500;
    const webhook = await createWebhook(billing, receiver.url, ['email.sent']);
    const emailId = await sendEmail(billing);
    type Page = {
      items: {
        id: string;
        eventId: string;
        emailId: string;
        attempts: number;
        status: string;
        responseStatus: number;
        lastError: string;
      }[];
    };
    await waitUntil(
      async () =>
        (await billing.get<Page>(`/api/v1/webhooks/${webhook.id}/deliveries?status=failed`)).body.items
          .length === 1,
      20_000,
      'the delivery failed',
    );
    const failed = (await billing.get<Page>(`/api/v1/webhooks/${webhook.id}/deliveries?status=failed`)).body
      .items[0]!;
    expect(failed).toMatchObject({ emailId, attempts: 5, responseStatus: 500, lastError: 'HTTP 500' });
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((h) => h.id))).toEqual(new Set([failed.eventId]));
    expect(new Set(receiver.received.map((h) => h.timestamp)).size).toBeGreaterThan(1);
    expect(
      (await billing.get<Page>(`/api/v1/webhooks/${webhook.id}/deliveries?status=pending`)).body.items,
    ).toEqual([]);

    receiver.answer = () => 204;
    const retried = await billing.post(`/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id: failed.id, status: 'pending' });
    await waitUntil(() => receiver.acknowledged().get(failed.eventId) === 1, 10_000, 'the replay');
    const again = await billing.post(`/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/retry`);
    await waitUntil(
      async () =>
        (await billing.get<Page>(`/api/v1/webhooks/${webhook.id}/deliveries?status=succeeded`)).body.items
          .length === 1,
      5_000,
      'succeeded',
    );
    expect(again.status === 409 || again.status === 202).toBe(true);
    expect((await billing.post(`/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/retry`)).status).toBe(
      409,
    );
    expect(signatureHolds(webhook.secret, receiver.received[receiver.received.length - 1]!)).toBe(true);

    expect((await billing.delete(`/api/v1/webhooks/${webhook.id}`)).status).toBe(204);
    expect((await billing.get(`/api/v1/webhooks/${webhook.id}`)).status).toBe(404);
    expect((await billing.post(`/api/v1/webhooks/${webhook.id}/deliveries/${failed.id}/retry`)).status).toBe(
      404,
    );
  });

  it('keeps delivering email at full speed while a receiver never answers', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => 'hang';
    await createWebhook(billing, receiver.url, ['email.sent']);
    const started = Date.now();
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => sendEmail(billing, `fast${i}@example.com`)),
    );
    await waitUntil(
      async () =>
        (await Promise.all(ids.map((id) => billing.get(`/api/v1/emails/${id}`)))).every(
          (r) => r.body.status === 'sent',
        ),
      15_000,
      'thirty emails sent',
    );
    // Every webhook request is still hanging (they time out after 10 s), yet the email went out.
    expect(Date.now() - started).toBeLessThan(8_000);
    // Two at a time (WEBHOOK_ENDPOINT_CONCURRENCY): the others wait their turn, holding no worker slot.
    await waitUntil(() => receiver.open === 2, 5_000, 'webhook requests in flight');
    expect(receiver.maxOpen).toBe(2);
  });

  it('refuses URLs outside WEBHOOK_ALLOWED_HOSTS and metadata addresses, and bad input, with problem+json', async () => {
    const cases: [unknown, RegExp][] = [
      [
        { url: 'http://169.254.169.254/latest/meta-data/', events: ['email.sent'] },
        /link-local or cloud metadata/,
      ],
      [{ url: 'http://[fd00:ec2::254]/', events: ['email.sent'] }, /link-local or cloud metadata/],
      [{ url: 'http://203.0.113.9/hooks', events: ['email.sent'] }, /not in WEBHOOK_ALLOWED_HOSTS/],
      [{ url: 'http://10.1.2.3/hooks', events: ['email.sent'] }, /is internal \(10\.0\.0\.0\/8\)/],
      [{ url: 'http://127.0.0.2/hooks', events: ['email.sent'] }, /is internal \(127\.0\.0\.0\/8\)/],
      [{ url: 'http://user:pw@127.0.0.1/hooks', events: ['email.sent'] }, /user name or password/],
      [{ url: 'gopher://127.0.0.1/', events: ['email.sent'] }, /http\(s\)/],
      [{ url: 'http://127.0.0.1/hooks', events: ['email.opened'] }, /events/],
      [{ url: 'http://127.0.0.1/hooks', events: [] }, /events/],
      [{ url: 'http://127.0.0.1/hooks', events: ['email.sent'], secret: 'mine' }, /secret/],
    ];
    for (const [body, detail] of cases) {
      const refused = await billing.post('/api/v1/webhooks', body);
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(JSON.stringify(refused.body)).toMatch(detail);
    }
    const reports = client(api.baseUrl, TOKENS.reports);
    expect(
      (await reports.post('/api/v1/webhooks', { url: 'http://127.0.0.1/x', events: ['email.sent'] })).status,
    ).toBe(403);
    expect((await billing.get('/api/v1/webhooks/not-an-id')).status).toBe(404);
    expect(
      (await billing.get(`/api/v1/webhooks/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}`)).status,
    ).toBe(404);
  });

  it('shows suppressions and webhook deliveries on the dashboard', async () => {
    await suppress('dashboard@example.com');
    const [answering, failing] = [await startReceiver(), await startReceiver()];
    failing.answer = () => 500;
    const heard = await createWebhook(billing, answering.url, ['email.sent']);
    const refused = await createWebhook(billing, failing.url, ['email.sent']);
    await sendEmail(billing);
    await finishedDeliveries(billing, heard.id, 1);
    await finishedDeliveries(billing, refused.id, 1);
    const monitor = await startMonitor({ ...env, ...dashboardEnv() });
    try {
      const response = await fetch(`http://127.0.0.1:${monitor.healthPort}/api/overview`, {
        headers: { authorization: basicAuth(DASHBOARD.user, DASHBOARD.password) },
      });
      const overview = (await response.json()) as { deliveryEvents: Record<string, unknown> };
      expect(overview.deliveryEvents).toEqual({
        suppressedAddresses: 1,
        webhooks: 2,
        pausedWebhooks: 0,
        deliveries: { pending: 0, succeeded: 1, failed: 1 },
        // Jobs of earlier tests' deleted webhooks may still pass through the queue (they are dropped).
        queue: { waiting: expect.any(Number), delayed: expect.any(Number), active: expect.any(Number) },
      });
    } finally {
      await monitor.stop();
    }
  });
});
