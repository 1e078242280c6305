import type Redis from 'ioredis';
import { AppProcess } from './support/app-process';
import { bullKey } from './support/bull-keys';
import { SendGridFake } from './support/fakes/sendgrid-fake';
import { auditTrailWith, baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const API_KEY = 'SG.pinned-provider-test.key';
const email = (subject: string) => ({
  to: ['ana@example.com'],
  subject,
  text: 'Hello',
  provider: 'sendgrid',
});

/**
 * An email pinned to a provider that the worker taking it does not have (workers differ during a rollout,
 * or by mistake): it is never dropped in silence. It waits, spending no attempt, for a worker that has the
 * provider, for up to PINNED_PROVIDER_WAIT_MS; then it is dead, with the reason, in the dead letters.
 */
describe('an email pinned to a provider its worker lacks (api with SendGrid, workers with and without)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let sendgrid: SendGridFake;
  let env: Record<string, string>;
  let api: AppProcess;
  const workers: AppProcess[] = [];
  let billing: ReturnType<typeof client>;
  let inspect: Redis;

  beforeAll(async () => {
    [redis, sink, sendgrid] = await Promise.all([
      PrivateRedis.start(),
      SmtpSink.start(),
      SendGridFake.start(API_KEY),
    ]);
    env = baseEnv(redis, sink);
    inspect = redis.client();
    // The api has SendGrid, so it accepts emails pinned to it.
    api = await AppProcess.start({
      role: 'api',
      env: { ...env, SENDGRID_API_KEY: API_KEY, SENDGRID_BASE_URL: sendgrid.url },
    });
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  });

  afterAll(async () => {
    inspect?.disconnect();
    await api?.stop();
    await Promise.all([sink?.stop(), sendgrid?.stop(), redis?.stop()]);
  });

  /** A worker with SMTP only: it does not have SendGrid. */
  const startWorkerWithoutSendGrid = async (waitMs: number) => {
    const worker = await AppProcess.start({
      role: 'worker',
      env: { ...env, PINNED_PROVIDER_WAIT_MS: String(waitMs) },
    });
    workers.push(worker);
    return worker;
  };

  async function statusOf(id: string, wanted: string, timeoutMs: number): Promise<Record<string, unknown>> {
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === wanted;
      },
      timeoutMs,
      `email ${id} to be ${wanted}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(status)}`);
    });
    return status;
  }

  it('makes it dead with the reason once no worker with the provider took it within the wait', async () => {
    const worker = await startWorkerWithoutSendGrid(1500);
    const accepted = Date.now();
    const id = (await billing.post('/api/v1/emails', email('nobody has SendGrid'))).body.id as string;

    const dead = await statusOf(id, 'dead', 15_000);
    expect(Date.now() - accepted).toBeGreaterThanOrEqual(1500);
    expect(dead).toMatchObject({
      attempts: 0,
      lastError: 'provider sendgrid is not configured on the workers that took this email',
    });
    const letters = await client(api.baseUrl, TOKENS.ops).get<{ items: { id: string; lastError: string }[] }>(
      '/api/v1/dead-letters',
    );
    expect(letters.body.items.find((letter) => letter.id === id)?.lastError).toBe(dead.lastError);
    const trail = await auditTrailWith(billing, id, ['dead_lettered']);
    expect(trail.map((e) => e.event)).toEqual(['accepted', 'dead_lettered']);
    expect(trail[1]!.detail).toMatchObject({ provider: 'sendgrid', attempts: 0 });
    await waitUntil(
      () =>
        worker
          .logs()
          .some(
            (l) =>
              l.emailId === id &&
              l.msg === 'email dead: its pinned provider is not configured on the workers',
          ),
      5000,
      'the worker to log the email dead',
    );
    // Said once when it began to wait, and once when it gave up.
    expect(
      worker
        .logs()
        .filter((l) => l.emailId === id && l.level === 'warn')
        .map((l) => l.msg),
    ).toEqual(['email pinned to a provider this worker does not have: waiting for a worker that has it']);
  });

  it('leaves it, queued and with no attempt spent, for a worker that has the provider', async () => {
    const without = await startWorkerWithoutSendGrid(60_000);
    const id = (await billing.post('/api/v1/emails', email('SendGrid comes later'))).body.id as string;
    // Bull stamps a job when a worker takes it.
    const job = bullKey(env.QUEUE_PREFIX!, 'medium', id);
    await waitUntil(
      async () => (await inspect.hexists(job, 'processedOn')) === 1,
      10_000,
      'the worker without SendGrid to take the email',
    );
    expect((await billing.get(`/api/v1/emails/${id}`)).body).toMatchObject({ status: 'queued', attempts: 0 });

    // The rollout goes on: the worker without SendGrid goes, one with it comes.
    await without.stop();
    workers.push(
      await AppProcess.start({
        role: 'worker',
        env: { ...env, SENDGRID_API_KEY: API_KEY, SENDGRID_BASE_URL: sendgrid.url },
      }),
    );
    const sent = await statusOf(id, 'sent', 30_000);
    expect(sent).toMatchObject({ provider: 'sendgrid', attempts: 1 });
    expect(sendgrid.find(id)).toBeDefined();
  });
});
