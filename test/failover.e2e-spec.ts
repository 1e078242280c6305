import { AppProcess } from './support/app-process';
import { SendGridFake, sendGridErrorResponse } from './support/fakes/sendgrid-fake';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const API_KEY = 'SG.failover-test.key';
const email = (subject: string, extra: Record<string, unknown> = {}) => ({
  to: ['ana@example.com'],
  subject,
  text: 'Hello',
  ...extra,
});

/** SendGrid first, SMTP as the fallback; SendGrid is played by its fake, SMTP by the sink. */
describe('failover between providers', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let sendgrid: SendGridFake;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink, sendgrid] = await Promise.all([
      PrivateRedis.start(),
      SmtpSink.start(),
      SendGridFake.start(API_KEY),
    ]);
    app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis, sink),
        EMAIL_PROVIDER: 'sendgrid',
        SENDGRID_API_KEY: API_KEY,
        SENDGRID_BASE_URL: sendgrid.url,
        PROVIDER_FALLBACKS: 'smtp',
        CIRCUIT_FAILURE_THRESHOLD: '4',
        CIRCUIT_COOLDOWN_MS: '60000',
      },
    });
    billing = client(app.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sink?.stop(), sendgrid?.stop(), redis?.stop()]);
  });

  async function settled(id: string): Promise<Record<string, unknown>> {
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === 'sent' || status.status === 'dead';
      },
      20_000,
      `email ${id} to settle`,
    );
    return status;
  }

  it('sends through SendGrid while it works', async () => {
    const id = (await billing.post('/api/v1/emails', email('first choice'))).body.id as string;
    expect(await settled(id)).toMatchObject({ status: 'sent', provider: 'sendgrid', attempts: 1 });
    expect(sendgrid.find(id)).toBeDefined();
    expect(sink.find(id)).toBeUndefined();
  });

  it('moves to SMTP after SendGrid fails with 500', async () => {
    sendgrid.failNext(1, sendGridErrorResponse(500, 'internal error'));
    const id = (await billing.post('/api/v1/emails', email('failed over'))).body.id as string;
    const status = await settled(id);
    expect(status).toMatchObject({ status: 'sent', provider: 'smtp', attempts: 2 });
    expect(status.lastError).toContain('500');
    expect(sink.find(id)).toBeDefined();
  });

  it('keeps a pinned email on its provider', async () => {
    sendgrid.failNext(3, sendGridErrorResponse(503, 'unavailable'));
    const id = (await billing.post('/api/v1/emails', email('pinned', { provider: 'sendgrid' }))).body
      .id as string;
    const status = await settled(id);
    expect(status).toMatchObject({ status: 'dead', provider: 'sendgrid', attempts: 3 });
    expect(sink.find(id)).toBeUndefined();
  });

  it('skips a provider whose circuit is open, for every worker, and shows it in the queue figures', async () => {
    // SendGrid has now failed 4 times in a row (once above, 3 times pinned): the threshold; open for a minute.
    const figures = await client(app.baseUrl, TOKENS.ops).get('/api/v1/queues');
    expect(figures.body.providers).toMatchObject({
      sendgrid: { inChain: true, circuit: { state: 'open', openUntil: expect.any(String), timesOpened: 1 } },
      smtp: { inChain: true, circuit: { state: 'closed' } },
    });
    const before = sendgrid.requests.length;
    const id = (await billing.post('/api/v1/emails', email('around the open circuit'))).body.id as string;
    // First attempt, straight to SMTP: no attempt was spent on the open circuit.
    expect(await settled(id)).toMatchObject({ status: 'sent', provider: 'smtp', attempts: 1 });
    expect(sendgrid.requests.length).toBe(before);
  });
});
