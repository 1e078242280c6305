import { randomBytes } from 'node:crypto';
import { SESClient, SendRawEmailCommand } from '@aws-sdk/client-ses';
import { AppProcess } from './support/app-process';
import { SES_ERRORS, SesFake } from './support/fakes/ses-fake';
import { baseEnv, client, INLINE_EMAIL, queuesIdle, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';

const CREDENTIALS = {
  region: 'eu-west-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  // Random per run, so that finding it anywhere can only mean it leaked from this process.
  secretAccessKey: `wJalrXUtnFEMI/K7MDENG/${randomBytes(12).toString('base64url')}`,
};
/** The account's configuration set (event publishing) that the service names on every send. */
const CONFIGURATION_SET = 'freeface-events';

/** The built app (role all) sending through Amazon SES, here a local fake of its Query API that checks SigV4. */
describe('delivery through Amazon SES (SendRawEmail)', () => {
  let redis: PrivateRedis;
  let ses: SesFake;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;
  const emailIds: string[] = [];

  beforeAll(async () => {
    [redis, ses] = await Promise.all([
      PrivateRedis.start(),
      SesFake.start(CREDENTIALS, { configurationSets: [CONFIGURATION_SET, 'someone-elses'] }),
    ]);
    app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis),
        EMAIL_PROVIDER: 'ses',
        AWS_REGION: CREDENTIALS.region,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        SES_ENDPOINT: ses.url,
        SES_CONFIGURATION_SET: CONFIGURATION_SET,
        // The provider's own debug lines are in the output too, for the test that the secret never is.
        LOG_LEVELS: 'ses=debug',
      },
    });
    billing = client(app.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([ses?.stop(), redis?.stop()]);
  });

  afterEach(() => expect(ses.violations).toEqual([]));

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

  async function send(body: Record<string, unknown> = INLINE_EMAIL): Promise<string> {
    const accepted = await billing.post('/api/v1/emails', body);
    expect(accepted.status).toBe(202);
    emailIds.push(accepted.body.id as string);
    return accepted.body.id as string;
  }

  it('sends the whole message as raw MIME, bcc only as a destination, and keeps SES MessageId', async () => {
    const id = await send();
    const status = await waitForStatus(id, 'sent');

    const message = (await ses.find(id))!;
    expect(message).toBeDefined();
    expect(status).toMatchObject({ provider: 'ses', attempts: 1, providerMessageId: message.messageId });
    expect(message.credential).toMatch(/^AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request$/);
    expect(message.source).toBe('noreply@freeface.test');
    expect([...message.destinations].sort()).toEqual([
      'ana@example.com',
      'bo@example.com',
      'carl@example.com',
      'dora@example.com',
    ]);
    expect(message.tags).toEqual({ email_id: id, tag_invoice: '1', meta_invoiceId: '42' });

    const { parsed } = message;
    expect(parsed.headers.get('x-email-id')).toBe(id);
    expect(parsed.messageId).toBe(`<${id}@freeface.test>`);
    expect(parsed.subject).toBe('Your invoice 42');
    expect(parsed.from?.value).toEqual([{ address: 'noreply@freeface.test', name: 'FreeFace Tests' }]);
    expect(parsed.headers.get('x-campaign')).toBe('invoices');
    expect(parsed.text?.trim()).toBe('Hello Ana, your invoice is attached.');
    expect(parsed.html).toContain('<b>invoice</b>');
    const addresses = (field: typeof parsed.to) =>
      (Array.isArray(field) ? field : [field]).flatMap((f) => f?.value ?? []);
    expect(addresses(parsed.to)).toEqual([
      { address: 'ana@example.com', name: '' },
      { address: 'bo@example.com', name: 'Bo Berg' },
    ]);
    expect(addresses(parsed.cc)).toEqual([{ address: 'carl@example.com', name: '' }]);
    expect(addresses(parsed.replyTo)).toEqual([{ address: 'support@example.com', name: 'Support' }]);
    expect(parsed.bcc).toBeUndefined();
    const header = message.raw.slice(0, message.raw.search(/\r?\n\r?\n/));
    expect(header).not.toMatch(/^bcc:/im);
    expect(message.raw).not.toContain('dora@example.com');
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString()])).toEqual([
      ['invoice.pdf', 'application/pdf', '%PDF-1.4 fake invoice'],
      ['notes.txt', 'text/plain', 'line one\nline two\n'],
    ]);
  });

  it('names SES_CONFIGURATION_SET on every send, and no caller can name another through a header', async () => {
    const id = await send({ to: ['ana@example.com'], subject: 'Configured', text: 'Hello' });
    await waitForStatus(id, 'sent');
    expect((await ses.find(id))?.configurationSet).toBe(CONFIGURATION_SET);

    for (const header of ['X-SES-CONFIGURATION-SET', 'x-ses-message-tags', 'X-SES-SOURCE-ARN']) {
      const refused = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        subject: 'Steered',
        text: 'Hello',
        headers: { [header]: 'someone-elses' },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([
        {
          field: 'headers',
          message: `header "${header}" would instruct the email provider and cannot be set`,
        },
      ]);
    }
  });

  it('retries a throttled send and succeeds on the third attempt', async () => {
    const before = ses.requests.length;
    ses.failNext(2, SES_ERRORS.throttling());
    const id = await send({ to: ['ana@example.com'], subject: 'Throttled', text: 'Hello' });
    const status = await waitForStatus(id, 'sent');
    const message = (await ses.find(id))!;
    expect(status).toMatchObject({ provider: 'ses', attempts: 3, providerMessageId: message.messageId });
    expect(ses.requests.length - before).toBe(3);
  });

  it('dead-letters a rejected message after one attempt, with SES reason', async () => {
    const before = ses.requests.length;
    ses.failNext(1, SES_ERRORS.messageRejected('Email address is not verified: noreply@freeface.test'));
    const id = await send({ to: ['ana@example.com'], subject: 'Rejected', text: 'Hello' });
    const status = await waitForStatus(id, 'dead');
    expect(status).toMatchObject({ provider: 'ses', attempts: 1, providerMessageId: null });
    expect(status.lastError).toContain('MessageRejected');
    expect(status.lastError).toContain('Email address is not verified: noreply@freeface.test');
    // A wrong retry would be a job still to run: once none is left, there was none.
    await queuesIdle(app.baseUrl);
    expect(ses.requests.length - before).toBe(1);
  });

  it('never shows the secret access key in its output or in an email status', async () => {
    expect(emailIds.length).toBeGreaterThanOrEqual(3);
    for (const id of emailIds) {
      const status = await billing.get(`/api/v1/emails/${id}`);
      expect(JSON.stringify(status.body)).not.toContain(CREDENTIALS.secretAccessKey);
    }
    expect(app.stdout.length).toBeGreaterThan(0);
    expect(app.stdout.join('\n')).not.toContain(CREDENTIALS.secretAccessKey);
    expect(app.stderr.join('')).not.toContain(CREDENTIALS.secretAccessKey);
    // The provider's debug lines were on, so the output did cover the SES conversation.
    expect(app.logs().some((line) => line.msg === 'SES SendRawEmail failed')).toBe(true);
  });
});

/** The fake's own wire check must bite, or the tests above would prove nothing about the signature. */
describe('SesFake', () => {
  let ses: SesFake;

  beforeAll(async () => {
    ses = await SesFake.start(CREDENTIALS);
  });

  afterAll(() => ses?.stop());

  async function sendWith(overrides: {
    region?: string;
    secretAccessKey?: string;
    header?: string;
    configurationSet?: string;
  }) {
    const sdk = new SESClient({
      region: overrides.region ?? CREDENTIALS.region,
      credentials: {
        accessKeyId: CREDENTIALS.accessKeyId,
        secretAccessKey: overrides.secretAccessKey ?? CREDENTIALS.secretAccessKey,
      },
      endpoint: ses.url,
      maxAttempts: 1,
    });
    try {
      return await sdk.send(
        new SendRawEmailCommand({
          RawMessage: {
            Data: Buffer.from(`From: a@example.com\r\n${overrides.header ?? ''}Subject: hi\r\n\r\nHello\r\n`),
          },
          Destinations: ['b@example.com'],
          Source: 'a@example.com',
          ...(overrides.configurationSet ? { ConfigurationSetName: overrides.configurationSet } : {}),
        }),
      );
    } finally {
      sdk.destroy();
    }
  }

  it('accepts a request signed with the configured key and region', async () => {
    const result = await sendWith({});
    expect(result.MessageId).toMatch(/-000000$/);
    expect(ses.violations).toEqual([]);
  });

  it('refuses a request signed with another secret key, as SES does (403 SignatureDoesNotMatch)', async () => {
    await expect(sendWith({ secretAccessKey: 'not-the-secret' })).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
  });

  it('refuses a request signed for another region', async () => {
    await expect(sendWith({ region: 'us-east-1' })).rejects.toMatchObject({ name: 'IncompleteSignature' });
  });

  it('applies a configuration set named by the parameter or, as SES does, by an X-SES header, if it exists', async () => {
    await expect(sendWith({ configurationSet: 'unknown-set' })).rejects.toMatchObject({
      name: expect.stringMatching(/^ConfigurationSetDoesNotExist/),
    });
    await expect(sendWith({ header: 'X-SES-CONFIGURATION-SET: unknown-set\r\n' })).rejects.toMatchObject({
      name: expect.stringMatching(/^ConfigurationSetDoesNotExist/),
    });
  });
});
