import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { AppProcess } from './support/app-process';
import { SendGridFake } from './support/fakes/sendgrid-fake';
import { SesFake } from './support/fakes/ses-fake';
import { SnsFake } from './support/fakes/sns-fake';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { PrivateRedis } from './support/private-redis';
import { selfSignedCertificate } from './support/self-signed-certificate';

const SENDGRID_API_KEY = `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
const SES_CREDENTIALS = {
  region: 'eu-west-1',
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: `wJalrXUtnFEMI/K7MDENG/${randomBytes(12).toString('base64url')}`,
};
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:freeface-ses-events';

/** The key pair SendGrid makes when signing is turned on; the console shows the public half in base64 DER. */
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_VERIFICATION_KEY = sendgridKeys.publicKey
  .export({ type: 'spki', format: 'der' })
  .toString('base64');

/**
 * A SendGrid Event Webhook POST as SendGrid sends it: a JSON array (laid out its own way: the raw bytes are
 * what is signed), the signature of timestamp + body in X-Twilio-Email-Event-Webhook-Signature.
 */
function sendgridPost(
  events: Record<string, unknown>[],
  options: { timestamp?: number; privateKey?: typeof sendgridKeys.privateKey } = {},
) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const body = `${JSON.stringify(events, null, 1)}\r\n`;
  const signature = sign(
    'sha256',
    Buffer.from(timestamp + body),
    options.privateKey ?? sendgridKeys.privateKey,
  ).toString('base64');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    },
  };
}

/** One event of the Event Webhook, with the fields SendGrid documents and our custom argument. */
function sendgridEvent(emailId: string, messageId: string, fields: Record<string, unknown>) {
  return {
    email: 'ana@example.com',
    timestamp: Math.floor(Date.now() / 1000),
    'smtp-id': `<${messageId}@ismtpd0001p1lon1.sendgrid.net>`,
    sg_event_id: randomBytes(16).toString('base64url'),
    sg_message_id: `${messageId}.filterdrecv-5bd7c7b6b7-abcde-1-6645F2B3-1.0`,
    email_id: emailId,
    ...fields,
  };
}

/** Whether `text` is in a log line other than the request lines of the test's own suppression look-ups. */
const loggedOutsideOurQueries = (app: AppProcess, text: string) =>
  app
    .logs()
    .some(
      (line) =>
        !(typeof line.url === 'string' && line.url.startsWith('/api/v1/suppressions')) &&
        JSON.stringify(line).includes(text),
    );

/** SNS posts its JSON as text/plain, with its message-type headers. */
const snsHeaders = (message: Record<string, string>) => ({
  'content-type': 'text/plain; charset=UTF-8',
  'x-amz-sns-message-type': message.Type!,
  'x-amz-sns-message-id': message.MessageId!,
  'x-amz-sns-topic-arn': message.TopicArn!,
});

/** Provider callbacks of SendGrid and Amazon SES (through SNS), verified and applied, on the built app. */
describe('provider events: SendGrid Event Webhook and SES notifications through SNS', () => {
  let redis: PrivateRedis;
  let sendgrid: SendGridFake;
  let ses: SesFake;
  let sns: SnsFake;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;
  let anonymous: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sendgrid, ses, sns] = await Promise.all([
      PrivateRedis.start(),
      SendGridFake.start(SENDGRID_API_KEY),
      SesFake.start(SES_CREDENTIALS),
      SnsFake.start(TOPIC),
    ]);
    app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis),
        EMAIL_PROVIDER: 'sendgrid',
        SENDGRID_API_KEY,
        SENDGRID_BASE_URL: sendgrid.url,
        SENDGRID_WEBHOOK_PUBLIC_KEY: SENDGRID_VERIFICATION_KEY,
        // SES is complete, so enabled: emails pinned to it go through the SES fake.
        AWS_REGION: SES_CREDENTIALS.region,
        AWS_ACCESS_KEY_ID: SES_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SES_CREDENTIALS.secretAccessKey,
        SES_ENDPOINT: ses.url,
        SES_SNS_TOPIC_ARNS: TOPIC,
        SNS_CERT_URL_PATTERN: sns.urlPattern,
        PROVIDER_CALLBACK_MAX_BODY_BYTES: String(256 * 1024),
      },
    });
    billing = client(app.baseUrl, TOKENS.billing);
    anonymous = client(app.baseUrl);
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sendgrid?.stop(), ses?.stop(), sns?.stop(), redis?.stop()]);
  });

  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body;
  const sentEmail = async (to: string, provider?: 'ses') => {
    const accepted = await billing.post('/api/v1/emails', {
      to: [to],
      subject: 'Hello',
      text: 'Hi',
      ...(provider ? { provider } : {}),
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.id as string;
    await waitUntil(async () => (await statusOf(id)).status === 'sent', 15_000, `email ${id} to be sent`);
    return id;
  };
  const eventsOf = async (id: string) =>
    (
      await billing.get<{ items: { event: string; detail?: Record<string, unknown> }[] }>(
        `/api/v1/audit/${id}`,
      )
    ).body.items ?? []; // a 404 until the audit writer's first batch (20 ms, longer on a busy machine) lands
  const waitForAuditEvent = (id: string, event: string) =>
    waitUntil(
      async () => (await eventsOf(id)).some((e) => e.event === event),
      5_000,
      `the ${event} audit event`,
    );
  const suppression = async (email: string) =>
    (
      await client(app.baseUrl, TOKENS.ops).get<{ items: { reason: string; source: string }[] }>(
        `/api/v1/suppressions?email=${encodeURIComponent(email)}`,
      )
    ).body.items[0];
  const ignoredEvents = async (provider: string) =>
    sampleValue(
      parsePrometheusText((await client(app.baseUrl, TOKENS.reports).get<string>('/metrics')).body),
      'freeface_callbacks_rejected_total',
      { provider, reason: 'foreign_recipient' },
    ) ?? 0;
  const expectNextEmailSuppressed = async (to: string, reason: string, provider?: 'ses') => {
    const next = (
      await billing.post('/api/v1/emails', {
        to: [to],
        subject: 'Again',
        text: 'Hi',
        ...(provider ? { provider } : {}),
      })
    ).body.id as string;
    await waitUntil(
      async () => (await statusOf(next)).status === 'suppressed',
      15_000,
      'the next email to be suppressed',
    );
    expect((await statusOf(next)).suppressed).toEqual([{ email: to, reason }]);
  };

  describe('POST /webhooks/sendgrid', () => {
    const postSendGrid = (post: { body: string; headers: Record<string, string> }) =>
      anonymous.post('/webhooks/sendgrid', post.body, post.headers);
    const messageIdOf = (id: string) => sendgrid.find(id)!.messageId;

    it('refuses a forged, unsigned or stale batch with 401 problem+json, and changes nothing', async () => {
      const id = await sentEmail('sg-forged@example.com');
      const events = [
        sendgridEvent(id, messageIdOf(id), {
          email: 'sg-forged@example.com',
          event: 'bounce',
          type: 'bounce',
        }),
      ];
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const genuine = sendgridPost(events);
      const attempts = [
        sendgridPost(events, { privateKey: other }),
        { body: genuine.body, headers: { 'content-type': 'application/json' } },
        { ...genuine, body: genuine.body.replace('bounce', 'bounce ') },
        sendgridPost(events, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
      ];
      for (const attempt of attempts) {
        const answer = await postSendGrid(attempt);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
      }
      expect((await statusOf(id)).status).toBe('sent');
      expect(await suppression('sg-forged@example.com')).toBeUndefined();
    });

    it('marks a delivered email delivered, once, however often the event comes', async () => {
      const id = await sentEmail('ana@example.com');
      const delivered = sendgridEvent(id, messageIdOf(id), {
        event: 'delivered',
        response: '250 OK',
        tls: 1,
      });
      const processed = sendgridEvent(id, messageIdOf(id), { event: 'processed' });
      expect((await postSendGrid(sendgridPost([processed, delivered]))).body).toEqual({
        results: ['ignored', 'applied'],
      });
      // SendGrid retries a batch it got no 2xx for, signed anew: the same event id changes nothing.
      expect((await postSendGrid(sendgridPost([delivered]))).body).toEqual({ results: ['duplicate'] });
      expect((await statusOf(id)).status).toBe('delivered');
      await waitForAuditEvent(id, 'delivered');
      const trail = (await eventsOf(id)).filter((e) => e.event === 'delivered');
      expect(trail).toHaveLength(1);
      expect(trail[0]!.detail).toMatchObject({ provider: 'sendgrid', code: 250, previousStatus: 'sent' });
    });

    it('ignores a correctly signed event about an address that is not one of its email’s recipients', async () => {
      const id = await sentEmail('sg-real@example.com');
      const before = await ignoredEvents('sendgrid');
      const stranger = sendgridEvent(id, messageIdOf(id), {
        email: 'sg-stranger@example.org',
        event: 'spamreport',
      });
      const genuine = sendgridEvent(id, messageIdOf(id), {
        email: 'SG-Real@example.com',
        event: 'delivered',
      });
      expect((await postSendGrid(sendgridPost([stranger, genuine]))).body).toEqual({
        results: ['ignored', 'applied'],
      });
      expect((await statusOf(id)).status).toBe('delivered');
      expect(await suppression('sg-stranger@example.org')).toBeUndefined();
      expect(await ignoredEvents('sendgrid')).toBe(before + 1);
      expect(loggedOutsideOurQueries(app, 'sg-stranger@example.org')).toBe(false);
    });

    it('turns a hard bounce into a bounced email and a suppressed address; the next email to it is not sent', async () => {
      const id = await sentEmail('sg-bounce@example.com');
      const soft = sendgridEvent(id, messageIdOf(id), {
        email: 'sg-bounce@example.com',
        event: 'bounce',
        type: 'blocked',
        reason: '421 4.7.0 Try again later',
        status: '4.7.0',
      });
      expect((await postSendGrid(sendgridPost([soft]))).body).toEqual({ results: ['ignored'] });
      expect((await statusOf(id)).status).toBe('sent');
      const hard = sendgridEvent(id, messageIdOf(id), {
        email: 'sg-bounce@example.com',
        event: 'bounce',
        type: 'bounce',
        bounce_classification: 'Invalid Address',
        reason: '550 5.1.1 The email account that you tried to reach does not exist.',
        status: '5.1.1',
      });
      expect((await postSendGrid(sendgridPost([hard]))).body).toEqual({ results: ['applied'] });
      expect((await statusOf(id)).status).toBe('bounced');
      expect(await suppression('sg-bounce@example.com')).toMatchObject({
        reason: 'hard_bounce',
        source: 'sendgrid',
      });
      await waitForAuditEvent(id, 'bounced');
      await expectNextEmailSuppressed('sg-bounce@example.com', 'hard_bounce');
    });

    it('takes JSON only, bounded by PROVIDER_CALLBACK_MAX_BODY_BYTES', async () => {
      const processed = sendgridEvent(randomUUID(), 'x', { event: 'processed' });
      const post = sendgridPost([processed]);
      const asText = await anonymous.post('/webhooks/sendgrid', post.body, {
        ...post.headers,
        'content-type': 'text/plain',
      });
      expect(asText.status).toBe(415);
      const large = sendgridPost([{ ...processed, category: 'x'.repeat(300 * 1024) }]);
      expect((await postSendGrid(large)).body).toMatchObject({
        status: 413,
        detail: expect.stringContaining('PROVIDER_CALLBACK_MAX_BODY_BYTES'),
      });
      expect((await postSendGrid(post)).body).toEqual({ results: ['ignored'] });
    });

    it('turns a spam report into a complained email and a suppressed address', async () => {
      const id = await sentEmail('sg-spam@example.com');
      const report = sendgridEvent(id, messageIdOf(id), {
        email: 'sg-spam@example.com',
        event: 'spamreport',
      });
      expect((await postSendGrid(sendgridPost([report]))).body).toEqual({ results: ['applied'] });
      expect((await statusOf(id)).status).toBe('complained');
      expect(await suppression('sg-spam@example.com')).toMatchObject({
        reason: 'complaint',
        source: 'sendgrid',
      });
    });
  });

  describe('POST /webhooks/ses', () => {
    const postSns = (message: Record<string, string>) =>
      anonymous.post('/webhooks/ses', JSON.stringify(message), snsHeaders(message));

    /** The `mail` object SES puts in a notification for one of our emails sent through it. */
    const mailOf = async (id: string, withHeaders: boolean) => {
      const sent = (await ses.find(id))!;
      const headers = sent.parsed.headerLines.map(({ line }) => ({
        name: line.slice(0, line.indexOf(':')),
        value: line.slice(line.indexOf(':') + 1).trim(),
      }));
      return {
        timestamp: new Date().toISOString(),
        source: sent.source,
        sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/freeface.test',
        sourceIp: '192.0.2.10',
        sendingAccountId: '123456789012',
        messageId: sent.messageId,
        destination: sent.destinations,
        ...(withHeaders
          ? {
              headersTruncated: false,
              headers,
              commonHeaders: { from: [sent.source], to: sent.destinations, subject: 'Hello' },
            }
          : {}),
      };
    };

    it('confirms a verified subscription by GETting its SubscribeURL', async () => {
      const confirmation = sns.subscriptionConfirmation();
      const answer = await postSns(confirmation);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ result: 'subscribed' });
      expect(sns.confirmations().map((r) => r.path)).toEqual([
        new URL(confirmation.SubscribeURL!).pathname + new URL(confirmation.SubscribeURL!).search,
      ]);
    });

    it('fetches nothing and answers 401 when the SigningCertURL or the SubscribeURL does not match SNS_CERT_URL_PATTERN', async () => {
      const before = sns.requests.length;
      const elsewhere = `http://localhost:${new URL(sns.url).port}`;
      for (const message of [
        sns.subscriptionConfirmation({ signingCertUrl: `${elsewhere}/untrusted.pem` }),
        sns.notification(
          { notificationType: 'Delivery' },
          { signingCertUrl: 'https://evil.example/cert.pem' },
        ),
        sns.subscriptionConfirmation({ subscribeUrl: `${elsewhere}/?Action=ConfirmSubscription&Token=x` }),
      ]) {
        const answer = await postSns(message);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
      }
      // The certificate may be fetched for the third (its SigningCertURL is fine), never anything else.
      expect(sns.requests.slice(before).map((r) => r.path)).not.toContainEqual(
        expect.stringContaining('ConfirmSubscription'),
      );
      expect(sns.requests.slice(before).every((r) => r.path === '/SimpleNotificationService-fake.pem')).toBe(
        true,
      );
    });

    it('refuses a forged, unsigned, stale or foreign-topic notification with 401, and changes nothing', async () => {
      const id = await sentEmail('ses-forged@example.com', 'ses');
      const bounce = {
        notificationType: 'Bounce',
        mail: await mailOf(id, true),
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [{ emailAddress: 'ses-forged@example.com', status: '5.1.1', action: 'failed' }],
          timestamp: new Date().toISOString(),
          feedbackId: '0100018f-example-000000',
        },
      };
      const genuine = sns.notification(bounce);
      const { Signature: _, ...unsigned } = genuine;
      for (const message of [
        sns.notification(bounce, { signWith: selfSignedCertificate().privateKey }),
        unsigned,
        { ...genuine, Message: genuine.Message!.replace('ses-forged', 'someone-else') },
        sns.notification(bounce, { timestamp: new Date(Date.now() - 3 * 3_600_000) }),
        sns.notification(bounce, { topicArn: 'arn:aws:sns:eu-west-1:210987654321:not-ours' }),
      ]) {
        const answer = await postSns(message);
        expect(answer.status).toBe(401);
        expect(answer.headers.get('content-type')).toContain('application/problem+json');
      }
      expect((await statusOf(id)).status).toBe('sent');
      expect(await suppression('ses-forged@example.com')).toBeUndefined();
    });

    it('acknowledges a verified notification it does not track, sent as application/json too', async () => {
      const message = sns.notification('Hello from a topic that also carries other messages');
      const answer = await anonymous.post('/webhooks/ses', JSON.stringify(message), {
        ...snsHeaders(message),
        'content-type': 'application/json',
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ result: 'ignored' });
    });

    it('marks a delivered email delivered from a Delivery notification with the original headers (X-Email-Id)', async () => {
      const id = await sentEmail('ana@example.com', 'ses');
      const delivery = sns.notification(
        {
          notificationType: 'Delivery',
          mail: await mailOf(id, true),
          delivery: {
            timestamp: new Date().toISOString(),
            processingTimeMillis: 546,
            recipients: ['ana@example.com'],
            smtpResponse: '250 ok:  Message 64111812 accepted',
            remoteMtaIp: '192.0.2.20',
            reportingMTA: 'a8-70.smtp-out.amazonses.com',
          },
        },
        { signatureVersion: '1' },
      );
      expect((await postSns(delivery)).body).toEqual({ results: ['applied'] });
      expect((await postSns(delivery)).body).toEqual({ results: ['duplicate'] });
      expect((await statusOf(id)).status).toBe('delivered');
      await waitForAuditEvent(id, 'delivered');
    });

    it('turns a permanent bounce without headers (found by SES’s message id) into a bounced email and a suppressed address', async () => {
      const id = await sentEmail('ses-bounce@example.com', 'ses');
      const bounce = async (bounceType: string) =>
        sns.notification({
          notificationType: 'Bounce',
          mail: await mailOf(id, false),
          bounce: {
            bounceType,
            bounceSubType: bounceType === 'Permanent' ? 'General' : 'MailboxFull',
            bouncedRecipients: [
              {
                emailAddress: 'ses-bounce@example.com',
                action: 'failed',
                status: '5.1.1',
                diagnosticCode: 'smtp; 550 5.1.1 user unknown',
              },
            ],
            timestamp: new Date().toISOString(),
            feedbackId: '0100018f-example-000001',
            reportingMTA: 'dsn; a27-30.smtp-out.eu-west-1.amazonses.com',
          },
        });
      expect((await postSns(await bounce('Transient'))).body).toEqual({ result: 'ignored' });
      expect((await statusOf(id)).status).toBe('sent');
      expect((await postSns(await bounce('Permanent'))).body).toEqual({ results: ['applied'] });
      expect((await statusOf(id)).status).toBe('bounced');
      expect(await suppression('ses-bounce@example.com')).toMatchObject({
        reason: 'hard_bounce',
        source: 'ses',
      });
      await waitForAuditEvent(id, 'bounced');
      expect((await eventsOf(id)).find((e) => e.event === 'bounced')!.detail).toMatchObject({
        provider: 'ses',
        code: 550,
      });
      await expectNextEmailSuppressed('ses-bounce@example.com', 'hard_bounce', 'ses');
    });

    it('applies a notification only to the recipients of its email, ignoring an address it was not sent to', async () => {
      const id = await sentEmail('ses-real@example.com', 'ses');
      const before = await ignoredEvents('ses');
      const bounce = sns.notification({
        notificationType: 'Bounce',
        mail: await mailOf(id, true),
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [
            { emailAddress: 'ses-stranger@example.org', action: 'failed', status: '5.1.1' },
            { emailAddress: 'ses-real@example.com', action: 'failed', status: '5.1.1' },
          ],
          timestamp: new Date().toISOString(),
          feedbackId: '0100018f-example-000003',
        },
      });
      expect((await postSns(bounce)).body).toEqual({ results: ['ignored', 'applied'] });
      expect((await statusOf(id)).status).toBe('bounced');
      expect(await suppression('ses-real@example.com')).toMatchObject({
        reason: 'hard_bounce',
        source: 'ses',
      });
      expect(await suppression('ses-stranger@example.org')).toBeUndefined();
      expect(await ignoredEvents('ses')).toBe(before + 1);
      expect(loggedOutsideOurQueries(app, 'ses-stranger@example.org')).toBe(false);
    });

    it('turns a complaint published by a configuration set (eventType, email_id tag) into a complained email', async () => {
      const id = await sentEmail('ses-spam@example.com', 'ses');
      const mail = {
        ...(await mailOf(id, false)),
        tags: { email_id: [id], 'ses:configuration-set': ['freeface'] },
      };
      const complaint = sns.notification({
        eventType: 'Complaint',
        mail,
        complaint: {
          complainedRecipients: [{ emailAddress: 'ses-spam@example.com' }],
          timestamp: new Date().toISOString(),
          feedbackId: '0100018f-example-000002',
          complaintFeedbackType: 'abuse',
        },
      });
      expect((await postSns(complaint)).body).toEqual({ results: ['applied'] });
      expect((await statusOf(id)).status).toBe('complained');
      expect(await suppression('ses-spam@example.com')).toMatchObject({ reason: 'complaint', source: 'ses' });
    });
  });
});
