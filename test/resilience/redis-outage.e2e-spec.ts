import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { emailIdOf, SmtpSink } from '../support/smtp-sink';
import { afterEndpointsReload } from '../support/webhook-endpoint-reloads';
import { WebhookReceiver } from '../support/webhook-receiver';

const EMAILS = 30;
/** JOB_LOCK_MS of the processes: a send whose outcome could not be recorded is taken up again once it lapses. */
const JOB_LOCK_MS = 2000;

/**
 * Redis goes away with emails accepted and not yet delivered, and comes back (AOF everysec, as production
 * runs it): the API answers 503 at once meanwhile, health stays up, readiness goes down, and afterwards the
 * API and the workers recover on their own and deliver everything accepted before.
 */
describe('Redis outage and restart (api + worker, AOF everysec)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    [redis, sink, receiver] = await Promise.all([
      PrivateRedis.start({ appendOnly: true }),
      SmtpSink.start(),
      WebhookReceiver.start(),
    ]);
    // JOB_LOCK_MS: a send whose outcome could not be recorded while Redis was away is taken up again when
    // its lock expires; a short lock keeps the test short (production: 30 s).
    const env: Record<string, string> = {
      ...baseEnv(redis, sink),
      WORKER_CONCURRENCY: '2',
      JOB_LOCK_MS: String(JOB_LOCK_MS),
      // The receiver is on loopback, which webhooks reach only when allowed.
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
    };
    // A slow sink keeps most of the accepted emails waiting in Redis when it stops.
    sink.delayMs = 200;
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    // Every email.sent goes to a webhook too: events of sends made around the outage must not be lost.
    await afterEndpointsReload(redis, env.QUEUE_PREFIX!, 2, async () =>
      expect(
        (await billing.post('/api/v1/webhooks', { url: receiver.url, events: ['email.sent'] })).status,
      ).toBe(201),
    );
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), receiver?.stop(), redis?.stop()]);
  });

  it('answers 503 fast while Redis is away, recovers on its own, and delivers every email accepted before', async () => {
    const ids: string[] = [];
    for (let i = 0; i < EMAILS; i++) {
      const accepted = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        subject: `outage ${i}`,
        text: 'x',
      });
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.id as string);
    }
    await waitUntil(() => sink.messages.length >= 2, 10_000, 'the first deliveries');
    const linesBefore = [api.stdout.length, worker.stdout.length];
    // A clean shutdown: Redis writes and fsyncs the AOF before it exits, so the restart has every accepted email.
    await redis.pause('SIGTERM');
    const outageStarted = Date.now();
    const deliveredBeforeOutage = sink.messages.length;
    expect(deliveredBeforeOutage).toBeLessThan(EMAILS);

    const started = Date.now();
    const refused = await billing.post('/api/v1/emails', {
      to: ['ana@example.com'],
      subject: 'refused',
      text: 'x',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const port of [api.port, worker.healthPort]) {
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 503,
        5000,
        `readiness on ${port} to turn 503`,
      );
    }
    // Both processes notice, and keep running and retrying; the outage outlasts the job locks, so the sends it
    // interrupted are taken up again when their locks have lapsed.
    await waitUntil(
      () =>
        [api, worker].every((app, i) =>
          app.stdout.slice(linesBefore[i]).some((line) => line.includes('"msg":"redis connection lost"')),
        ) && Date.now() - outageStarted > JOB_LOCK_MS + 500,
      10_000,
      'both processes to see Redis gone, for longer than a job lock',
    );

    await redis.resume();
    for (const port of [api.port, worker.healthPort]) {
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200,
        20_000,
        `readiness on ${port} to come back`,
      );
    }
    expect(
      (await billing.post('/api/v1/emails', { to: ['ana@example.com'], subject: 'after', text: 'x' })).status,
    ).toBe(202);
    let statuses: unknown[] = [];
    await waitUntil(
      async () => {
        statuses = await Promise.all(
          ids.map(async (id) => (await billing.get(`/api/v1/emails/${id}`)).body.status),
        );
        return statuses.every((status) => status === 'sent');
      },
      40_000,
      'every email accepted before the outage to be sent',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; statuses: ${JSON.stringify(statuses)}`);
    });
    const delivered = new Set(sink.messages.map((m) => emailIdOf(m)));
    const lost = ids.filter((id) => !delivered.has(id));
    const duplicates = sink.messages.filter((m) => ids.includes(emailIdOf(m))).length - delivered.size;
    process.stdout.write(
      `redis outage: ${EMAILS} accepted, ${deliveredBeforeOutage} delivered before it, ${lost.length} lost, ` +
        `${duplicates} duplicated\n`,
    );
    expect(lost).toEqual([]);

    // Each sent email's webhook arrives, each event id acknowledged once, whether its send was before,
    // during or after the outage.
    const hooked = () =>
      new Set(receiver.received.filter((h) => h.answered === 200).map((h) => h.json.data.emailId));
    await waitUntil(
      () => ids.every((id) => hooked().has(id)),
      20_000,
      'an email.sent webhook for every email',
    );
    expect([...receiver.acknowledged().values()].every((count) => count === 1)).toBe(true);
    expect(api.stderr.join('')).not.toMatch(/unhandled|FATAL/i);
    expect(worker.stderr.join('')).not.toMatch(/unhandled|FATAL/i);
  });
});
