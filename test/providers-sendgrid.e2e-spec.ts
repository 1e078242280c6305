import { randomBytes } from 'node:crypto';
import { AppProcess } from './support/app-process';
import { SendGridFake, sendGridErrorResponse } from './support/fakes/sendgrid-fake';
import { baseEnv, client, INLINE_EMAIL, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';

// Random per run, in SendGrid's SG.<id>.<secret> shape, so that finding it anywhere can only mean it leaked.
const API_KEY = `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** An email with every part the SendGrid body has a field for: recipients, reply-to, header, tags, metadata, files. */
const FULL_EMAIL = {
  ...INLINE_EMAIL,
  html: '<p>Hello Ana, your <b>invoice</b> is attached.</p><img src="cid:logo@freeface">',
  tags: ['invoice', 'q3'],
  metadata: { invoiceId: '42', customer: 'ana' },
  attachments: [
    { filename: 'invoice.pdf', content: b64('%PDF-1.4 fake invoice'), contentType: 'application/pdf' },
    { filename: 'logo.png', content: b64('fake png'), contentId: 'logo@freeface' },
  ],
};

/** The built app (role all) sending through SendGrid's v3 Mail Send, here a local fake that checks the wire format. */
describe('delivery through SendGrid (v3 Mail Send)', () => {
  let redis: PrivateRedis;
  let sendgrid: SendGridFake;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;
  const emailIds: string[] = [];

  beforeAll(async () => {
    [redis, sendgrid] = await Promise.all([PrivateRedis.start(), SendGridFake.start(API_KEY)]);
    app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis),
        EMAIL_PROVIDER: 'sendgrid',
        SENDGRID_API_KEY: API_KEY,
        SENDGRID_BASE_URL: sendgrid.url,
        // The provider's own debug lines are in the output too, for the test that the key never is.
        LOG_LEVELS: 'sendgrid=debug',
      },
    });
    billing = client(app.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sendgrid?.stop(), redis?.stop()]);
  });

  async function waitForStatus(id: string, status: string) {
    let last: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        last = (await billing.get(`/api/v1/emails/${id}`)).body;
        return last.status === status;
      },
      15_000,
      `email ${id} to be ${status} (last: ${JSON.stringify(last)})`,
    );
    return last;
  }

  async function send(body: Record<string, unknown>): Promise<string> {
    const accepted = await billing.post('/api/v1/emails', body);
    expect(accepted.status).toBe(202);
    emailIds.push(accepted.body.id as string);
    return accepted.body.id as string;
  }

  it('posts the email in the documented Mail Send shape and keeps SendGrid’s X-Message-Id', async () => {
    const id = await send(FULL_EMAIL);
    const status = await waitForStatus(id, 'sent');

    const mail = sendgrid.find(id)!;
    expect(mail).toBeDefined();
    expect(status).toMatchObject({ provider: 'sendgrid', attempts: 1, providerMessageId: mail.messageId });
    expect(mail.request.method).toBe('POST');
    expect(mail.request.path).toBe('/v3/mail/send');
    expect(mail.request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(mail.request.headers['content-type']).toMatch(/^application\/json/);
    expect(mail.body).toEqual({
      personalizations: [
        {
          to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo Berg' }],
          cc: [{ email: 'carl@example.com' }],
          bcc: [{ email: 'dora@example.com' }],
        },
      ],
      from: { email: 'noreply@freeface.test', name: 'FreeFace Tests' },
      reply_to: { email: 'support@example.com', name: 'Support' },
      subject: 'Your invoice 42',
      content: [
        { type: 'text/plain', value: 'Hello Ana, your invoice is attached.' },
        { type: 'text/html', value: FULL_EMAIL.html },
      ],
      attachments: [
        {
          content: b64('%PDF-1.4 fake invoice'),
          filename: 'invoice.pdf',
          type: 'application/pdf',
          disposition: 'attachment',
        },
        {
          content: b64('fake png'),
          filename: 'logo.png',
          type: 'image/png',
          disposition: 'inline',
          content_id: 'logo@freeface',
        },
      ],
      headers: { 'X-Campaign': 'invoices', 'Message-ID': `<${id}@freeface.test>`, 'X-Email-Id': id },
      categories: ['invoice', 'q3'],
      custom_args: { invoiceId: '42', customer: 'ana', email_id: id },
    });
  });

  it('retries two 500s and sends on the third attempt', async () => {
    const before = sendgrid.requests.length;
    sendgrid.failNext(2, sendGridErrorResponse(500, 'internal error'));
    const id = await send({ to: ['ana@example.com'], subject: 'Flaky', text: 'Hello' });
    const status = await waitForStatus(id, 'sent');
    const mail = sendgrid.find(id)!;
    expect(status).toMatchObject({ provider: 'sendgrid', attempts: 3, providerMessageId: mail.messageId });
    expect(status.lastError).toContain('500 internal error');
    expect(sendgrid.requests.length - before).toBe(3);
  });

  it('makes a 400 dead after one attempt, with SendGrid’s message as the reason', async () => {
    const before = sendgrid.requests.length;
    sendgrid.failNext(
      1,
      sendGridErrorResponse(400, [
        {
          message: 'Does not contain a valid address.',
          field: 'personalizations.0.to.0.email',
          help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to',
        },
      ]),
    );
    const id = await send({ to: ['ana@example.com'], subject: 'Refused', text: 'Hello' });
    const status = await waitForStatus(id, 'dead');
    expect(status).toMatchObject({ provider: 'sendgrid', attempts: 1 });
    expect(status.lastError).toContain('400 Does not contain a valid address.');
    expect(sendgrid.requests.length - before).toBe(1);
    expect(sendgrid.find(id)).toBeUndefined();
  });

  it('makes a 401 (revoked key) dead after one attempt', async () => {
    const before = sendgrid.requests.length;
    sendgrid.useApiKey(`SG.${randomBytes(16).toString('base64url')}.rotated`);
    try {
      const id = await send({ to: ['ana@example.com'], subject: 'Revoked', text: 'Hello' });
      const status = await waitForStatus(id, 'dead');
      expect(status).toMatchObject({ provider: 'sendgrid', attempts: 1 });
      expect(status.lastError).toContain(
        '401 The provided authorization grant is invalid, expired, or revoked',
      );
      expect(sendgrid.requests.length - before).toBe(1);
    } finally {
      sendgrid.useApiKey(API_KEY);
    }
  });

  it('never shows the API key in its output or in an email’s status', async () => {
    expect(emailIds.length).toBeGreaterThanOrEqual(4);
    for (const id of emailIds) {
      const status = await billing.get(`/api/v1/emails/${id}`);
      expect(status.status).toBe(200);
      expect(JSON.stringify(status.body)).not.toContain(API_KEY);
    }
    // The debug lines of the sendgrid logger are there, so the check covers the provider's own logging.
    expect(app.logs().some((line) => line.msg === 'SendGrid accepted')).toBe(true);
    expect(app.stdout.join('\n')).not.toContain(API_KEY);
    expect(app.stderr.join('')).not.toContain(API_KEY);
  });
});
