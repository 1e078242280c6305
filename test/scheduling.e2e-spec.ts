import { AppProcess } from './support/app-process';
import { baseEnv, client, queuesIdle, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const email = (subject: string, extra: Record<string, unknown> = {}) => ({
  to: ['ana@example.com'],
  subject,
  text: 'Hello',
  ...extra,
});
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('scheduled emails and cancellation', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    env = baseEnv(redis, sink);
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body;

  it('delivers an email scheduled 3 s ahead no earlier than 3 s and no later than 5 s', async () => {
    const sendAt = inMs(3000);
    const accepted = await billing.post('/api/v1/emails', email('later', { sendAt }));
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ status: 'scheduled', sendAt: new Date(sendAt).toISOString() });
    const id = accepted.body.id as string;
    expect((await statusOf(id)).status).toBe('scheduled');
    expect(
      (await client(api.baseUrl, TOKENS.ops).get('/api/v1/queues')).body.scheduled,
    ).toBeGreaterThanOrEqual(1);

    await waitUntil(() => !!sink.find(id), 8000, 'the scheduled email');
    const lateness = sink.find(id)!.receivedAt - Date.parse(sendAt);
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThanOrEqual(2000);
    expect(await statusOf(id)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('keeps schedules through a crash and restart of every process', async () => {
    // Far enough ahead that restarting both processes on a loaded CI machine ends before it is due.
    const sendAt = inMs(9000);
    const id = (await billing.post('/api/v1/emails', email('survives', { sendAt }))).body.id as string;
    await Promise.all([api.stop('SIGKILL'), worker.stop('SIGKILL')]);
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    expect((await statusOf(id)).status).toBe('scheduled');
    await waitUntil(() => !!sink.find(id), 15_000, 'the scheduled email after the restart');
    expect(sink.find(id)!.receivedAt).toBeGreaterThanOrEqual(Date.parse(sendAt));
  });

  it('cancels a scheduled email, which is then never delivered', async () => {
    const sendAt = Date.now() + 1500;
    const id = (
      await billing.post('/api/v1/emails', email('never', { sendAt: new Date(sendAt).toISOString() }))
    ).body.id as string;
    // Due half a second after it, in the same queue: once this one is delivered, the cancelled one's time has
    // long passed.
    const marker = (
      await billing.post(
        '/api/v1/emails',
        email('due after it', { sendAt: new Date(sendAt + 500).toISOString() }),
      )
    ).body.id as string;
    const cancelled = await billing.delete(`/api/v1/emails/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ id, status: 'cancelled' });
    await waitUntil(() => !!sink.find(marker), 10_000, 'the email due after the cancelled one');
    expect(sink.find(id)).toBeUndefined();
    expect((await statusOf(id)).status).toBe('cancelled');
    expect((await billing.delete(`/api/v1/emails/${id}`)).status).toBe(409);
  });

  it('refuses to cancel a sent email (409) or another service’s (404)', async () => {
    const id = (await billing.post('/api/v1/emails', email('gone'))).body.id as string;
    await waitUntil(async () => (await statusOf(id)).status === 'sent', 10_000, 'sent');
    const late = await billing.delete(`/api/v1/emails/${id}`);
    expect(late.status).toBe(409);
    expect(late.body.detail).toContain('is sent');
    expect((await client(api.baseUrl, TOKENS.signup).delete(`/api/v1/emails/${id}`)).status).toBe(404);
    expect((await client(api.baseUrl, TOKENS.reports).delete(`/api/v1/emails/${id}`)).status).toBe(403);
  });

  it('never lets an email be both cancelled and delivered, over 200 races', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async (_, n) => {
        const id = (await billing.post('/api/v1/emails', email(`race ${n}`))).body.id as string;
        const cancel = await billing.delete(`/api/v1/emails/${id}`);
        return { id, cancelStatus: cancel.status };
      }),
    );
    expect(outcomes.every((o) => o.cancelStatus === 200 || o.cancelStatus === 409)).toBe(true);
    const delivered = outcomes.filter((o) => o.cancelStatus === 409);
    await waitUntil(
      () => delivered.every((o) => sink.find(o.id)),
      20_000,
      'the emails that were not cancelled',
    );
    await queuesIdle(api.baseUrl);
    for (const { id, cancelStatus } of outcomes) {
      const status = (await statusOf(id)).status;
      if (cancelStatus === 200) {
        expect([id, status, !!sink.find(id)]).toEqual([id, 'cancelled', false]);
      } else {
        expect([
          id,
          status,
          sink.messages.filter((m) => m.parsed.headers.get('x-email-id') === id).length,
        ]).toEqual([id, 'sent', 1]);
      }
    }
  });
});
