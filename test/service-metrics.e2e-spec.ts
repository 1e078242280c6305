import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

interface Figures {
  calls: number;
  emailsAccepted: number;
  emailsSent: number;
  emailsFailed: number;
  emailsDead: number;
  endpoints: Record<string, number>;
  lastCallAt: string | null;
}
type ServiceMetrics = Record<string, Figures>;

const email = (subject: string) => ({ to: ['ana@example.com'], subject, text: 'Hello' });

/** Per-service figures summed in Redis over every replica: one api and two workers that both deliver. */
describe('per-service metrics (api + two worker processes)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let workers: AppProcess[];
  let billing: ReturnType<typeof client>;
  let signup: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    // One send at a time per worker, each held 150 ms by the sink, so that both workers take a share.
    const env = { ...baseEnv(redis, sink), WORKER_CONCURRENCY: '1', LOG_LEVEL: 'info' };
    sink.delayMs = 150;
    [api, ...workers] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
    ops = client(api.baseUrl, TOKENS.ops);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), ...(workers ?? []).map((w) => w.stop())]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('counts 10 sends by two services correctly across both workers', async () => {
    const before = Date.now();
    const sends = [
      ...Array.from({ length: 6 }, (_, i) => billing.post('/api/v1/emails', email(`billing ${i}`))),
      ...Array.from({ length: 4 }, (_, i) => signup.post('/api/v1/emails', email(`sign-up ${i}`))),
    ];
    expect((await Promise.all(sends)).map((r) => r.status)).toEqual(Array(10).fill(202));
    await sink.waitForMessages(10);
    // A worker logs "email sent" once it has recorded the send, a moment after the sink has the message.
    const sentBy = () => workers.map((w) => w.stdout.filter((line) => line.includes('"email sent"')).length);
    await waitUntil(() => sentBy()[0]! + sentBy()[1]! === 10, 5000, 'both workers to record their sends');
    expect(sentBy().every((n) => n > 0)).toBe(true);

    // The workers flush their counts once a second.
    let all: ServiceMetrics = {};
    await waitUntil(
      async () => {
        all = (await ops.get<ServiceMetrics>('/api/v1/service-metrics')).body;
        return (
          all.billing?.emailsSent === 6 &&
          all['sign-up']?.emailsSent === 4 &&
          (all.ops?.endpoints['GET /api/v1/service-metrics'] ?? 0) >= 1
        );
      },
      10_000,
      'both services to show their sent emails',
    );
    expect(all.billing).toEqual({
      calls: 6,
      emailsAccepted: 6,
      emailsSent: 6,
      emailsFailed: 0,
      emailsDead: 0,
      endpoints: { 'POST /api/v1/emails': 6 },
      lastCallAt: expect.any(String),
    });
    expect(all['sign-up']).toMatchObject({
      calls: 4,
      emailsAccepted: 4,
      emailsSent: 4,
      endpoints: { 'POST /api/v1/emails': 4 },
    });
    expect(Date.parse(all.billing!.lastCallAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(all.billing!.lastCallAt!)).toBeLessThanOrEqual(Date.now());
    // The admin's own calls count too (at least the one that read these figures).
    expect(all.ops?.endpoints['GET /api/v1/service-metrics']).toBeGreaterThanOrEqual(1);
  });

  it('shows a service its own figures only, with reads counted per endpoint', async () => {
    const id = (await billing.get<{ items: { id: string }[] }>('/api/v1/emails?limit=1')).body.items[0]!.id;
    expect((await billing.get(`/api/v1/emails/${id}`)).status).toBe(200);
    let own: ServiceMetrics = {};
    await waitUntil(
      async () => {
        own = (await billing.get<ServiceMetrics>('/api/v1/service-metrics')).body;
        return (own.billing?.endpoints['GET /api/v1/emails/:id'] ?? 0) >= 1;
      },
      10_000,
      "billing's read of one email to be counted",
    );
    expect(Object.keys(own)).toEqual(['billing']);
    expect(own.billing!.endpoints).toMatchObject({
      'POST /api/v1/emails': 6,
      'GET /api/v1/emails': 1,
      'GET /api/v1/emails/:id': 1,
    });
    expect(own.billing!.calls).toBe(Object.values(own.billing!.endpoints).reduce((sum, n) => sum + n, 0));
    expect((await client(api.baseUrl).get('/api/v1/service-metrics')).status).toBe(401);
  });

  it('counts failed and dead emails of the service that sent them', async () => {
    sink.reply = () => ({ code: 550, message: '5.1.1 Recipient address rejected' });
    try {
      const id = (await signup.post('/api/v1/emails', email('rejected'))).body.id as string;
      await waitUntil(
        async () => (await signup.get(`/api/v1/emails/${id}`)).body.status === 'dead',
        10_000,
        'the rejected email to be dead',
      );
    } finally {
      sink.reply = () => undefined;
    }
    await waitUntil(
      async () => {
        const figures = (await signup.get<ServiceMetrics>('/api/v1/service-metrics')).body['sign-up'];
        return figures?.emailsFailed === 1 && figures.emailsDead === 1;
      },
      10_000,
      "sign-up's failed and dead email to be counted",
    );
    const billingFigures = (await ops.get<ServiceMetrics>('/api/v1/service-metrics')).body.billing;
    expect(billingFigures).toMatchObject({ emailsFailed: 0, emailsDead: 0 });
  });
});
