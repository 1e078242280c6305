import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { RedisKeys } from '../src/redis/redis-keys';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { SmtpSink } from './support/smtp-sink';
import { afterEndpointsReload } from './support/webhook-endpoint-reloads';
import { WebhookReceiver } from './support/webhook-receiver';

type Api = ReturnType<typeof client>;
type Webhook = { id: string; status: string; pausedAt: string | null; pausedReason: string | null };
type AuditPage = { items: Record<string, unknown>[] };

/** Each worker sends at most this many webhooks at once: fewer than the requests 20 hanging endpoints hold. */
const WORKER_WEBHOOK_CONCURRENCY = 30;

/**
 * One tenant must not slow the others: an api and two worker processes, receivers that never answer (each
 * request is cut off by the 10 s timeout of the contract) and receivers that answer at once.
 */
describe('webhook endpoints isolated from each other (api + two workers, local receivers)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let workers: AppProcess[];
  let billing: Api;
  let signup: Api;
  let env: Record<string, string>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    env = {
      ...baseEnv(redis, sink),
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      WEBHOOK_RETRY_SCHEDULE: '1s,1s,1s,1s,1s',
      WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
      WEBHOOK_CONCURRENCY: String(WORKER_WEBHOOK_CONCURRENCY),
      // WEBHOOK_ENDPOINT_CONCURRENCY keeps its default, 2.
      WEBHOOK_PAUSE_AFTER_TIMEOUTS: '2',
      // A killed worker's jobs go to another within seconds (the production default is 30 s).
      JOB_LOCK_MS: '2000',
    };
    [api, ...workers] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), ...(workers ?? []).map((worker) => worker.stop())]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const createWebhook = async (as: Api, url: string): Promise<Webhook> => {
    const created = await as.post('/api/v1/webhooks', { url, events: ['email.sent'] });
    expect(created.status).toBe(201);
    return created.body as Webhook;
  };
  /** Makes webhooks, and returns once every process (the api and each worker) has them. */
  const knownEverywhere = <T>(change: () => Promise<T>) =>
    afterEndpointsReload(redis, env.QUEUE_PREFIX!, 1 + workers.length, change);

  const sendEmail = async (as: Api, to: string) => {
    const accepted = await as.post('/api/v1/emails', { to: [to], subject: 'Hello', text: 'Hi' });
    expect(accepted.status).toBe(202);
    return accepted.body.id as string;
  };

  const scrape = async (process: AppProcess) =>
    parsePrometheusText(
      await fetch(`http://127.0.0.1:${process.healthPort}/metrics`, {
        headers: { authorization: `Bearer ${TOKENS.billing}` },
      }).then((r) => r.text()),
    );

  it("keeps another service's webhooks prompt while one service's 20 endpoints hang, at most 2 requests each", async () => {
    const hanging = await Promise.all(Array.from({ length: 20 }, () => WebhookReceiver.start()));
    for (const receiver of hanging) receiver.answer = () => 'hang';
    const healthy = await WebhookReceiver.start();
    const made: { as: Api; id: string }[] = [];
    try {
      await knownEverywhere(async () => {
        for (const receiver of hanging)
          made.push({ as: billing, id: (await createWebhook(billing, receiver.url)).id });
        made.push({ as: signup, id: (await createWebhook(signup, healthy.url)).id });
      });

      // Three events for each of billing's endpoints: sixty deliveries, three per endpoint, all hanging.
      await Promise.all([0, 1, 2].map((i) => sendEmail(billing, `slow${i}@example.com`)));
      await waitUntil(
        () => hanging.every((receiver) => receiver.open >= 2),
        15_000,
        'two requests hanging at each of the 20 endpoints',
      );
      // Forty requests hang at once, more than one worker's WEBHOOK_CONCURRENCY: both workers send them.
      expect(hanging.reduce((open, receiver) => open + receiver.open, 0)).toBeGreaterThan(
        WORKER_WEBHOOK_CONCURRENCY,
      );

      const latenciesMs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const sentAt = Date.now();
        const emailId = await sendEmail(signup, `quick${i}@example.com`);
        await healthy.waitFor((hook) => hook.json.data.emailId === emailId, `sign-up's webhook ${i}`, 4_000);
        latenciesMs.push(Date.now() - sentAt);
      }
      process.stdout.write(
        `webhook isolation: sign-up's webhooks arrived ${latenciesMs.join(', ')} ms after their emails were ` +
          `accepted, while ${hanging.reduce((open, receiver) => open + receiver.open, 0)} requests hung\n`,
      );
      // All that while billing's requests were still hanging (each is cut off only after 10 s).
      expect(hanging.map((receiver) => receiver.open)).toEqual(hanging.map(() => 2));
      expect(Math.max(...latenciesMs)).toBeLessThan(4_000);
      expect([...healthy.acknowledged().values()]).toEqual([1, 1, 1, 1, 1]);
      // The third delivery of each endpoint waited in line: never more than two requests at once.
      expect(hanging.map((receiver) => receiver.maxOpen)).toEqual(hanging.map(() => 2));
    } finally {
      for (const { as, id } of made) await as.delete(`/api/v1/webhooks/${id}`);
      await Promise.all([...hanging, healthy].map((receiver) => receiver.stop()));
    }
  });

  it('pauses an endpoint that keeps timing out, holds its deliveries, and sends each once after a resume', async () => {
    const receiver = await WebhookReceiver.start();
    receiver.answer = () => 'hang';
    const inspect = new Redis(redis.url);
    try {
      const webhook = await knownEverywhere(() => createWebhook(billing, receiver.url));
      expect(webhook).toMatchObject({ status: 'active', pausedAt: null, pausedReason: null });
      const emailIds = [];
      for (let i = 0; i < 4; i++) emailIds.push(await sendEmail(billing, `held${i}@example.com`));
      await waitUntil(() => receiver.open === 2, 10_000, 'two requests hanging');

      // Both time out after 10 s: the second timeout in a row pauses the endpoint.
      await waitUntil(
        async () => (await billing.get<Webhook>(`/api/v1/webhooks/${webhook.id}`)).body.status === 'paused',
        20_000,
        'the webhook paused',
      );
      const paused = (await billing.get<Webhook>(`/api/v1/webhooks/${webhook.id}`)).body;
      expect(paused).toMatchObject({
        status: 'paused',
        pausedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        pausedReason: 'no answer within 10 s to 2 attempts in a row',
      });
      expect((await billing.get<{ items: Webhook[] }>('/api/v1/webhooks')).body.items).toEqual([
        expect.objectContaining({ id: webhook.id, status: 'paused', pausedAt: paused.pausedAt }),
      ]);

      // In the billing service's audit trail, not in another's.
      await waitUntil(
        async () =>
          (await billing.get<AuditPage>('/api/v1/audit?event=webhook_paused')).body.items.length > 0,
        5_000,
        'the webhook_paused audit entry',
      );
      expect((await billing.get<AuditPage>('/api/v1/audit?event=webhook_paused')).body.items).toEqual([
        {
          at: paused.pausedAt,
          event: 'webhook_paused',
          service: 'billing',
          emailId: null,
          requestId: null,
          detail: { webhookId: webhook.id, reason: 'timeouts', timeouts: 2 },
        },
      ]);
      expect((await signup.get<AuditPage>('/api/v1/audit?event=webhook_paused')).body.items).toEqual([]);

      // Counted by the worker that paused it; the api exports how many endpoints are paused now.
      const pauses = async () => {
        let total = 0;
        for (const worker of workers)
          total +=
            sampleValue(await scrape(worker), 'freeface_webhook_pauses_total', {
              service: 'billing',
            }) ?? 0;
        return total;
      };
      await waitUntil(async () => (await pauses()) === 1, 5_000, 'one pause counted');
      expect(sampleValue(await scrape(api), 'freeface_webhooks_paused')).toBe(1);

      // The deliveries wait in line, not spent: those that timed out come back for their retry and are
      // held there too.
      const line = new RedisKeys(env.QUEUE_PREFIX!).webhookLine(webhook.id);
      await waitUntil(async () => (await inspect.zcard(line)) >= 3, 10_000, 'three deliveries held');
      type Delivery = { emailId: string; status: string; attempts: number };
      const held = (
        await billing.get<{ items: Delivery[] }>(`/api/v1/webhooks/${webhook.id}/deliveries?status=pending`)
      ).body.items;
      expect(held.map((d) => d.emailId).sort()).toEqual([...emailIds].sort());
      expect(held.map((d) => d.attempts).sort()).toEqual([0, 0, 1, 1]);

      // Only the owner (or an admin) may resume it, with the send scope like every webhook route.
      expect((await signup.post(`/api/v1/webhooks/${webhook.id}/resume`)).status).toBe(404);
      expect(
        (await client(api.baseUrl, TOKENS.reports).post(`/api/v1/webhooks/${webhook.id}/resume`)).status,
      ).toBe(403);
      expect((await billing.post('/api/v1/webhooks/not-an-id/resume')).status).toBe(404);

      receiver.answer = () => 204;
      const resumed = await billing.post<Webhook>(`/api/v1/webhooks/${webhook.id}/resume`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({
        id: webhook.id,
        status: 'active',
        pausedAt: null,
        pausedReason: null,
      });
      const resumedAt = Date.now();
      // The held ones go out at once; one still hanging from before the pause comes after its timeout.
      await waitUntil(() => receiver.acknowledged().size >= 3, 5_000, 'the held deliveries');
      expect(Date.now() - resumedAt).toBeLessThan(5_000);
      await waitUntil(() => receiver.acknowledged().size === 4, 20_000, 'every delivery');
      expect([...receiver.acknowledged().values()]).toEqual([1, 1, 1, 1]);
      expect(new Set(receiver.received.map((hook) => hook.json.data.emailId))).toEqual(new Set(emailIds));
      expect(receiver.maxOpen).toBe(2);
      await waitUntil(
        async () =>
          (
            await billing.get<{ items: Delivery[] }>(
              `/api/v1/webhooks/${webhook.id}/deliveries?status=succeeded`,
            )
          ).body.items.length === 4,
        5_000,
        'four deliveries succeeded',
      );

      await waitUntil(
        async () =>
          (await billing.get<AuditPage>('/api/v1/audit?event=webhook_resumed')).body.items.length > 0,
        5_000,
        'the webhook_resumed audit entry',
      );
      const [entry] = (await billing.get<AuditPage>('/api/v1/audit?event=webhook_resumed')).body.items;
      expect(entry).toMatchObject({
        event: 'webhook_resumed',
        service: 'billing',
        emailId: null,
        requestId: resumed.headers.get('x-request-id'),
        detail: { webhookId: webhook.id, heldDeliveries: expect.any(Number), by: 'billing' },
      });
      expect((entry!.detail as { heldDeliveries: number }).heldDeliveries).toBeGreaterThanOrEqual(3);
      expect(sampleValue(await scrape(api), 'freeface_webhooks_paused')).toBe(0);
      // Resuming one that is not paused changes nothing.
      expect((await billing.post<Webhook>(`/api/v1/webhooks/${webhook.id}/resume`)).body.status).toBe(
        'active',
      );
    } finally {
      inspect.disconnect();
      await receiver.stop();
    }
  });

  // Last: it kills the workers.
  it("does not lose an endpoint's slots to workers killed while they held them", async () => {
    const receiver = await WebhookReceiver.start();
    receiver.answer = () => 'hang';
    const inspect = new Redis(redis.url);
    try {
      const webhook = await knownEverywhere(() => createWebhook(billing, receiver.url));
      const emailIds = [];
      for (let i = 0; i < 4; i++) emailIds.push(await sendEmail(billing, `crash${i}@example.com`));
      // Two requests hang, holding both slots; the other two deliveries wait in line for them.
      const line = new RedisKeys(env.QUEUE_PREFIX!).webhookLine(webhook.id);
      await waitUntil(
        async () => receiver.open === 2 && (await inspect.zcard(line)) === 2,
        15_000,
        'two requests in flight and two in line',
      );
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
      await waitUntil(() => receiver.open === 0, 5_000, 'the killed workers’ connections closed');

      receiver.answer = () => 204;
      const restartedAt = Date.now();
      workers = [await AppProcess.start({ role: 'worker', env })];
      // The jobs in flight come back when their lock lapses and find their slots; each hands its slot on.
      await waitUntil(() => receiver.acknowledged().size === 4, 20_000, 'every delivery after the restart');
      expect(Date.now() - restartedAt).toBeLessThan(20_000);
      expect([...receiver.acknowledged().values()]).toEqual([1, 1, 1, 1]);
      expect(new Set(receiver.received.map((hook) => hook.json.data.emailId))).toEqual(new Set(emailIds));
      expect(receiver.maxOpen).toBe(2);
    } finally {
      inspect.disconnect();
      await receiver.stop();
    }
  });
});
