import { randomBytes } from 'node:crypto';
import { AppProcess } from './support/app-process';
import { MailgunFake, mailgunError, parseMultipart, type MailgunMessage } from './support/fakes/mailgun-fake';
import { baseEnv, client, INLINE_EMAIL, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';

// Random per run, so that finding it anywhere can only mean it leaked from this process.
const API_KEY = `key-${randomBytes(16).toString('hex')}`;
const WRONG_KEY = `key-${randomBytes(16).toString('hex')}`;
const DOMAIN = 'mg.freeface.test';

const EMAIL = {
  ...INLINE_EMAIL,
  // Four tags: Mailgun takes three.
  tags: ['invoice', 'billing', 'monthly', 'eu'],
  metadata: { invoiceId: '42', customer: 'c_7' },
};

/** The built app (role all) sending through Mailgun's form API, here a local fake that checks its wire format. */
describe('delivery through Mailgun (POST /v3/{domain}/messages)', () => {
  let redis: PrivateRedis;
  let mailgun: MailgunFake;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;
  /** Every email sent, with the app that took it (each app has queues and records of its own). */
  const sent: { baseUrl: string; id: string }[] = [];
  const apps: AppProcess[] = [];

  const envFor = (apiKey: string) => ({
    ...baseEnv(redis),
    EMAIL_PROVIDER: 'mailgun',
    MAILGUN_API_KEY: apiKey,
    MAILGUN_DOMAIN: DOMAIN,
    MAILGUN_URL: mailgun.url,
    // The provider's own debug lines are in the output too, for the test that the key never is.
    LOG_LEVELS: 'mailgun=debug',
  });

  beforeAll(async () => {
    [redis, mailgun] = await Promise.all([
      PrivateRedis.start(),
      MailgunFake.start({ apiKey: API_KEY, domain: DOMAIN }),
    ]);
    app = await AppProcess.start({ role: 'all', env: envFor(API_KEY) });
    apps.push(app);
    billing = client(app.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await Promise.all([mailgun?.stop(), redis?.stop()]);
  });

  async function send(
    api: ReturnType<typeof client>,
    body: Record<string, unknown>,
    baseUrl = app.baseUrl,
  ): Promise<string> {
    const accepted = await api.post('/api/v1/emails', body);
    expect(accepted.status).toBe(202);
    sent.push({ baseUrl, id: accepted.body.id as string });
    return accepted.body.id as string;
  }

  async function settled(api: ReturnType<typeof client>, id: string): Promise<Record<string, unknown>> {
    let last: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        last = (await api.get(`/api/v1/emails/${id}`)).body;
        return last.status === 'sent' || last.status === 'dead';
      },
      20_000,
      `email ${id} to be sent or dead`,
    );
    return last;
  }

  it('sends every part of the email as the documented form fields and keeps Mailgun id', async () => {
    const id = await send(billing, EMAIL);
    const status = await settled(billing, id);

    const message: MailgunMessage = mailgun.find(id)!;
    expect(message).toBeDefined();
    expect(status).toMatchObject({
      status: 'sent',
      provider: 'mailgun',
      attempts: 1,
      providerMessageId: message.id,
    });
    expect(message.id).toMatch(
      new RegExp(`^<\\d{14}\\.\\d+\\.[0-9A-F]{8}@${DOMAIN.replace(/\./g, '\\.')}>$`),
    );

    expect(message.request.method).toBe('POST');
    expect(message.request.path).toBe(`/v3/${DOMAIN}/messages`);
    expect(message.request.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(message.request.headers.authorization).toBe(
      `Basic ${Buffer.from(`api:${API_KEY}`).toString('base64')}`,
    );
    expect(message.fields).toEqual({
      from: ['FreeFace Tests <noreply@freeface.test>'],
      to: ['ana@example.com', 'Bo Berg <bo@example.com>'],
      cc: ['carl@example.com'],
      bcc: ['dora@example.com'],
      subject: ['Your invoice 42'],
      text: ['Hello Ana, your invoice is attached.'],
      html: ['<p>Hello Ana, your <b>invoice</b> is attached.</p>'],
      'h:X-Campaign': ['invoices'],
      'h:Reply-To': ['Support <support@example.com>'],
      'h:Message-Id': [`<${id}@freeface.test>`],
      'h:X-Email-Id': [id],
      'o:tag': ['invoice', 'billing', 'monthly'],
      'v:invoiceId': ['42'],
      'v:customer': ['c_7'],
      'v:email_id': [id],
    });
    expect(message.files.map((f) => [f.field, f.filename, f.contentType, f.content.toString()])).toEqual([
      ['attachment', 'invoice.pdf', 'application/pdf', '%PDF-1.4 fake invoice'],
      ['attachment', 'notes.txt', 'text/plain', 'line one\nline two\n'],
    ]);
    // The email's record keeps all four tags; only Mailgun's copy is cut to three.
    expect(status.tags).toEqual(EMAIL.tags);
    expect(mailgun.rejections).toEqual([]);
  });

  it("reads the body the same way as undici's own multipart parser", async () => {
    const request = mailgun.messages[0]!.request;
    const form = await new Request('http://mailgun.test/', {
      method: 'POST',
      headers: { 'content-type': request.headers['content-type']! },
      body: new Uint8Array(request.body),
    }).formData();
    const theirs = await Promise.all(
      [...form.entries()].map(async ([name, value]) =>
        typeof value === 'string'
          ? [name, value]
          : [name, value.name, value.type, Buffer.from(await value.arrayBuffer()).toString()],
      ),
    );
    const ours = parseMultipart(request.body, request.headers['content-type']!).map((part) =>
      part.filename === undefined
        ? [part.name, part.content.toString()]
        : [part.name, part.filename, part.contentType, part.content.toString()],
    );
    expect(ours).toEqual(theirs);
  });

  it('sends an inline image as `inline`, named by its Content-ID', async () => {
    const id = await send(billing, {
      to: ['ana@example.com'],
      subject: 'Logo',
      html: '<p><img src="cid:logo@freeface"></p>',
      attachments: [
        { filename: 'logo.png', content: Buffer.from('png').toString('base64'), contentId: 'logo@freeface' },
      ],
    });
    expect(await settled(billing, id)).toMatchObject({ status: 'sent', attempts: 1 });
    const message = mailgun.find(id)!;
    expect(message.files.map((f) => [f.field, f.filename, f.contentType])).toEqual([
      ['inline', 'logo@freeface', 'image/png'],
    ]);
    expect(message.fields.text).toBeUndefined();
  });

  it('retries two 500 answers and is sent on the third attempt', async () => {
    const before = mailgun.requests.length;
    mailgun.failNext(2, mailgunError(500, 'Internal Server Error'));
    const id = await send(billing, EMAIL);
    const status = await settled(billing, id);
    expect(status).toMatchObject({ status: 'sent', provider: 'mailgun', attempts: 3 });
    expect(status.providerMessageId).toBe(mailgun.find(id)!.id);
    expect(status.lastError).toContain('500');
    expect(mailgun.requests.length - before).toBe(3);
  });

  it('retries a 429 answer', async () => {
    mailgun.failNext(1, mailgunError(429, 'Too many requests'));
    const id = await send(billing, EMAIL);
    const status = await settled(billing, id);
    expect(status).toMatchObject({ status: 'sent', attempts: 2 });
    expect(status.lastError).toBe('429 Too many requests');
  });

  it("makes a 400 dead after one attempt, with Mailgun's message as the reason", async () => {
    const before = mailgun.requests.length;
    const reason = "'to' parameter is not a valid address. please check documentation";
    mailgun.failNext(1, mailgunError(400, reason));
    const id = await send(billing, EMAIL);
    const status = await settled(billing, id);
    expect(status).toMatchObject({
      status: 'dead',
      provider: 'mailgun',
      attempts: 1,
      providerMessageId: null,
    });
    expect(status.lastError).toBe(`400 ${reason}`);
    expect(mailgun.requests.length - before).toBe(1);
    expect(mailgun.find(id)).toBeUndefined();
  });

  it('makes a send with a wrong API key dead after one attempt (401 Forbidden)', async () => {
    const wrong = await AppProcess.start({ role: 'all', env: envFor(WRONG_KEY) });
    apps.push(wrong);
    const api = client(wrong.baseUrl, TOKENS.billing);
    const before = mailgun.requests.length;
    const id = await send(api, EMAIL, wrong.baseUrl);
    const status = await settled(api, id);
    expect(status).toMatchObject({
      status: 'dead',
      provider: 'mailgun',
      attempts: 1,
      lastError: '401 Forbidden',
    });
    expect(mailgun.requests.length - before).toBe(1);
    expect(mailgun.rejections).toEqual([{ status: 401, message: 'Forbidden' }]);
  });

  it('never shows the API key in the logs or in an email status', async () => {
    // The output holds sends and failures both, the reasons of the failures included.
    const messages = apps.flatMap((running) => running.logs().map((line) => line.msg));
    expect(messages.filter((msg) => msg === 'email sent')).toHaveLength(4);
    expect(messages).toContain('delivery attempt failed; will retry');
    expect(messages.filter((msg) => msg === 'email dead: no more attempts')).toHaveLength(2);
    const basic = (key: string) => Buffer.from(`api:${key}`).toString('base64');
    for (const running of apps) {
      const output = running.stdout.join('\n') + running.stderr.join('');
      for (const key of [API_KEY, WRONG_KEY]) {
        expect(output).not.toContain(key);
        expect(output).not.toContain(basic(key));
      }
    }
    for (const { baseUrl, id } of sent) {
      const body = JSON.stringify((await client(baseUrl, TOKENS.billing).get(`/api/v1/emails/${id}`)).body);
      expect(body).toContain(id);
      expect(body).not.toContain(API_KEY);
      expect(body).not.toContain(WRONG_KEY);
    }
  });
});
