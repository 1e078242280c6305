import { AppProcess } from './support/app-process';
import { baseEnv, client, INLINE_EMAIL, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

/** The whole path on the final topology: an api process and a worker process sharing one private Redis. */
describe('delivery from REST call to inbox (api + worker processes)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = baseEnv(redis, sink);
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

  async function waitForStatus(id: string, status: string) {
    let last: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        last = (await billing.get(`/api/v1/emails/${id}`)).body;
        return last.status === status;
      },
      15_000,
      `email ${id} to be ${status}`,
    );
    return last;
  }

  it('delivers an inline email with its recipients, parts, attachments and X-Email-Id', async () => {
    const accepted = await billing.post('/api/v1/emails', INLINE_EMAIL);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({
      id: expect.any(String),
      status: 'queued',
      priority: 'medium',
      sendAt: null,
    });
    const id = accepted.body.id as string;
    expect(accepted.headers.get('location')).toBe(`/api/v1/emails/${id}`);

    const status = await waitForStatus(id, 'sent');
    expect(status).toMatchObject({
      attempts: 1,
      provider: 'smtp',
      service: 'billing',
      subject: 'Your invoice 42',
    });
    expect(status.providerMessageId).toBe(`<${id}@freeface.test>`);

    const mail = sink.find(id)!;
    expect(mail).toBeDefined();
    expect(mail.parsed.subject).toBe('Your invoice 42');
    expect(mail.parsed.from?.value).toEqual([{ address: 'noreply@freeface.test', name: 'FreeFace Tests' }]);
    expect(mail.parsed.messageId).toBe(`<${id}@freeface.test>`);
    expect(mail.parsed.headers.get('x-campaign')).toBe('invoices');
    expect(mail.parsed.text?.trim()).toBe('Hello Ana, your invoice is attached.');
    expect(mail.parsed.html).toContain('<b>invoice</b>');
    const addresses = (field: typeof mail.parsed.to) =>
      (Array.isArray(field) ? field : [field]).flatMap((f) => f?.value ?? []);
    expect(addresses(mail.parsed.to)).toEqual([
      { address: 'ana@example.com', name: '' },
      { address: 'bo@example.com', name: 'Bo Berg' },
    ]);
    expect(addresses(mail.parsed.cc)).toEqual([{ address: 'carl@example.com', name: '' }]);
    expect(addresses(mail.parsed.replyTo)).toEqual([{ address: 'support@example.com', name: 'Support' }]);
    // Bcc reaches its recipient through the envelope and never appears in the headers.
    expect(mail.parsed.bcc).toBeUndefined();
    expect(mail.envelope.to.sort()).toEqual([
      'ana@example.com',
      'bo@example.com',
      'carl@example.com',
      'dora@example.com',
    ]);
    expect(mail.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
      ['invoice.pdf', 'application/pdf', '%PDF-1.4 fake invoice'],
      ['notes.txt', 'text/plain', 'line one\nline two\n'],
    ]);
  });

  it('delivers a templated email rendered with its data, with a text part made from the HTML', async () => {
    const accepted = await billing.post('/api/v1/emails', {
      to: ['ana@example.com'],
      template: 'welcome',
      data: { name: 'Ana <Admin>', product: 'FreeFace', actionUrl: 'https://app.example.com/start' },
      priority: 'high',
    });
    expect(accepted.status).toBe(202);
    expect(accepted.body.priority).toBe('high');
    const id = accepted.body.id as string;
    const status = await waitForStatus(id, 'sent');
    expect(status).toMatchObject({
      template: 'welcome',
      subject: 'Welcome to FreeFace, Ana <Admin>',
      priority: 'high',
    });

    const mail = sink.find(id)!;
    expect(mail.parsed.subject).toBe('Welcome to FreeFace, Ana <Admin>');
    // HTML is escaped; the subject and text are not HTML and stay as written.
    expect(mail.parsed.html).toContain('Welcome, Ana &lt;Admin&gt;!');
    expect(mail.parsed.html).toContain('href="https://app.example.com/start"');
    expect(mail.parsed.html).toContain('You receive this email because you have an account with FreeFace.');
    expect(mail.parsed.text).toContain('Welcome, Ana <Admin>!');
    expect(mail.parsed.text).toContain('https://app.example.com/start');
    expect(mail.parsed.headers.get('x-email-id')).toBe(id);
  });

  it("uses a template's own text part when it has one", async () => {
    const accepted = await billing.post('/api/v1/emails', {
      to: ['ana@example.com'],
      template: 'password-reset',
      data: {
        name: 'Ana',
        product: 'FreeFace',
        resetUrl: 'https://app.example.com/reset/abc',
        expiresInMinutes: 30,
      },
      subject: 'Reset it now',
    });
    const id = accepted.body.id as string;
    await waitForStatus(id, 'sent');
    const mail = sink.find(id)!;
    expect(mail.parsed.subject).toBe('Reset it now');
    expect(mail.parsed.text).toContain('Choose a new password here: https://app.example.com/reset/abc');
    expect(mail.parsed.text).toContain('The link works for 30 minutes.');
  });

  it('serves health and readiness on the worker port', async () => {
    const health = await fetch(`http://127.0.0.1:${worker.healthPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${worker.healthPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      info: { redis: { status: 'up' }, queues: { status: 'up' } },
    });
  });

  it('never delivers through the api process: it has no worker', async () => {
    const accepted = await billing.post('/api/v1/emails', INLINE_EMAIL);
    const id = accepted.body.id as string;
    await waitForStatus(id, 'sent');
    // The status is written before the log line reaches the test through the worker's stdout.
    const sentBy = (app: AppProcess) =>
      app.logs().some((line) => line.msg === 'email sent' && line.emailId === id);
    await waitUntil(() => sentBy(worker), 5_000, "the worker's log of the send");
    expect(sentBy(api)).toBe(false);
    expect(api.logs().some((line) => line.msg === 'worker taking jobs')).toBe(false);
    expect(worker.logs().some((line) => line.msg === 'worker taking jobs')).toBe(true);
  });
});
