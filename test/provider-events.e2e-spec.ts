import { createHmac, randomBytes } from 'node:crypto';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const SIGNING_KEY = `key-${randomBytes(16).toString('hex')}`;

/** Whether `text` is in a log line other than the request lines of the test's own suppression look-ups. */
const loggedOutsideOurQueries = (app: AppProcess, text: string) =>
  app
    .logs()
    .some(
      (line) =>
        !(typeof line.url === 'string' && line.url.startsWith('/api/v1/suppressions')) &&
        JSON.stringify(line).includes(text),
    );

/** A Mailgun webhook body, in the format Mailgun documents, signed as Mailgun signs it. */
function mailgunCallback(
  eventData: Record<string, unknown>,
  options: { key?: string; timestamp?: number; token?: string } = {},
) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const token = options.token ?? randomBytes(25).toString('hex');
  const signature = createHmac('sha256', options.key ?? SIGNING_KEY)
    .update(timestamp + token)
    .digest('hex');
  return {
    signature: { timestamp, token, signature },
    'event-data': { id: randomBytes(11).toString('base64url'), timestamp: Number(timestamp), ...eventData },
  };
}

/** Mailgun's delivery callbacks, verified and applied: status, audit trail, suppression list. */
describe('provider events: Mailgun webhooks (api + worker processes, a real SMTP sink)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let anonymous: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = { ...baseEnv(redis, sink), MAILGUN_WEBHOOK_SIGNING_KEY: SIGNING_KEY };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    anonymous = client(api.baseUrl);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const sentEmail = async (to: string, copies: { cc?: string[]; bcc?: string[] } = {}) => {
    const id = (await billing.post('/api/v1/emails', { to: [to], ...copies, subject: 'Hello', text: 'Hi' }))
      .body.id as string;
    await waitUntil(
      async () => (await billing.get(`/api/v1/emails/${id}`)).body.status === 'sent',
      15_000,
      'sent',
    );
    return id;
  };
  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body.status;
  const eventsOf = async (id: string) =>
    (await billing.get<{ items: { event: string }[] }>(`/api/v1/audit/${id}`)).body.items.map((e) => e.event);
  const suppression = async (email: string) =>
    (
      await client(api.baseUrl, TOKENS.ops).get<{ items: { reason: string; source: string }[] }>(
        `/api/v1/suppressions?email=${email}`,
      )
    ).body.items[0];

  const ignoredEvents = async (reason: string) =>
    sampleValue(
      parsePrometheusText((await client(api.baseUrl, TOKENS.reports).get<string>('/metrics')).body),
      'freeface_callbacks_rejected_total',
      { provider: 'mailgun', reason },
    );

  it('refuses a token seen before with 406, even with other event data, and changes nothing', async () => {
    const id = await sentEmail('replay@example.com');
    const victim = await sentEmail('victim@example.com');
    const genuine = mailgunCallback({
      event: 'delivered',
      recipient: 'replay@example.com',
      'user-variables': { email_id: id },
    });
    expect((await anonymous.post('/webhooks/mailgun', genuine)).body).toEqual({ result: 'applied' });
    const replays = [
      // The same callback again: Mailgun never sends a token twice.
      genuine,
      // The captured signature with made-up events: a bounce that would suppress someone else.
      {
        signature: genuine.signature,
        'event-data': mailgunCallback({
          event: 'failed',
          severity: 'permanent',
          recipient: 'victim@example.com',
          'user-variables': { email_id: victim },
        })['event-data'],
      },
    ];
    for (const replay of replays) {
      const answer = await anonymous.post('/webhooks/mailgun', replay);
      expect(answer.status).toBe(406);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body).toMatchObject({ status: 406, type: 'urn:freeface:problem:replayed' });
    }
    expect(await statusOf(victim)).toBe('sent');
    expect(await suppression('victim@example.com')).toBeUndefined();
    expect(await ignoredEvents('replayed')).toBe(2);
    // Every replica sees the same tokens: they are in Redis, kept past the signature's five minutes.
    const inspect = redis.client();
    const tokens = await inspect.keys('*mailgun-token:*');
    expect(tokens.length).toBeGreaterThanOrEqual(1);
    for (const key of tokens) expect(await inspect.pttl(key)).toBeGreaterThan(10 * 60_000);
    inspect.disconnect();
  });

  it('ignores a correctly signed event about an address that is not one of its email’s recipients', async () => {
    const id = await sentEmail('ana@example.net', { cc: ['carl@example.net'], bcc: ['Dora@Example.net'] });
    const bounceOf = (recipient: string) =>
      mailgunCallback({
        event: 'failed',
        severity: 'permanent',
        recipient,
        'user-variables': { email_id: id },
      });
    const before = (await ignoredEvents('foreign_recipient')) ?? 0;
    expect((await anonymous.post('/webhooks/mailgun', bounceOf('stranger@example.org'))).body).toEqual({
      result: 'ignored',
    });
    expect(await statusOf(id)).toBe('sent');
    expect(await suppression('stranger@example.org')).toBeUndefined();
    expect(await ignoredEvents('foreign_recipient')).toBe(before + 1);
    const ignored = api.logs().find((line) => String(line.msg).includes('not a recipient of its email'));
    expect(ignored).toMatchObject({ emailId: id, provider: 'mailgun' });
    expect(loggedOutsideOurQueries(api, 'stranger@example.org')).toBe(false);
    // A Bcc recipient is a recipient (in any case): their bounce counts.
    expect((await anonymous.post('/webhooks/mailgun', bounceOf('dora@example.net'))).body).toEqual({
      result: 'applied',
    });
    expect(await statusOf(id)).toBe('bounced');
    expect(await suppression('dora@example.net')).toMatchObject({ reason: 'hard_bounce' });
  });

  it('refuses a forged, unsigned or stale callback with 401, and changes nothing', async () => {
    const id = await sentEmail('forged@example.com');
    const event = {
      event: 'failed',
      severity: 'permanent',
      recipient: 'forged@example.com',
      'user-variables': { email_id: id },
    };
    for (const body of [
      mailgunCallback(event, { key: 'key-not-ours' }),
      { 'event-data': mailgunCallback(event)['event-data'] },
      mailgunCallback(event, { timestamp: Math.floor(Date.now() / 1000) - 3600 }),
    ]) {
      const answer = await anonymous.post('/webhooks/mailgun', body);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await statusOf(id)).toBe('sent');
    expect(await suppression('forged@example.com')).toBeUndefined();
  });

  it('marks a delivered email delivered, once, however often the callback comes', async () => {
    const id = await sentEmail('ana@example.com');
    const body = mailgunCallback({
      event: 'delivered',
      recipient: 'ana@example.com',
      'user-variables': { email_id: id },
    });
    expect((await anonymous.post('/webhooks/mailgun', body)).body).toEqual({ result: 'applied' });
    // Mailgun sending the event again signs it anew: the event id tells it is the same event.
    const again = { ...mailgunCallback({}), 'event-data': body['event-data'] };
    expect((await anonymous.post('/webhooks/mailgun', again)).body).toEqual({ result: 'duplicate' });
    expect(await statusOf(id)).toBe('delivered');
    await waitUntil(
      async () => (await eventsOf(id)).includes('delivered'),
      5_000,
      'the delivered audit event',
    );
    expect((await eventsOf(id)).filter((e) => e === 'delivered')).toHaveLength(1);
  });

  it('turns a hard bounce into a bounced email and a suppressed address; the next email to it is not sent', async () => {
    const id = await sentEmail('Bounce@Example.com');
    const answer = await anonymous.post(
      '/webhooks/mailgun',
      mailgunCallback({
        event: 'failed',
        severity: 'permanent',
        reason: 'bounce',
        recipient: 'bounce@example.com',
        'delivery-status': {
          code: 550,
          message: '5.1.1 The email account that you tried to reach does not exist',
        },
        'user-variables': { email_id: id },
      }),
    );
    expect(answer.body).toEqual({ result: 'applied' });
    expect(await statusOf(id)).toBe('bounced');
    expect(await suppression('bounce@example.com')).toMatchObject({
      reason: 'hard_bounce',
      source: 'mailgun',
    });
    await waitUntil(async () => (await eventsOf(id)).includes('bounced'), 5_000, 'the bounced audit event');

    const next = (
      await billing.post('/api/v1/emails', { to: ['bounce@example.com'], subject: 'Again', text: 'Hi' })
    ).body.id as string;
    await waitUntil(
      async () => (await statusOf(next)) === 'suppressed',
      15_000,
      'the next email to be suppressed',
    );
    expect((await billing.get(`/api/v1/emails/${next}`)).body.suppressed).toEqual([
      { email: 'bounce@example.com', reason: 'hard_bounce' },
    ]);
  });

  it('turns a complaint into a complained email and a suppressed address; a soft bounce changes nothing', async () => {
    const id = await sentEmail('spam@example.com');
    const soft = mailgunCallback({
      event: 'failed',
      severity: 'temporary',
      recipient: 'spam@example.com',
      'user-variables': { email_id: id },
    });
    expect((await anonymous.post('/webhooks/mailgun', soft)).body).toEqual({ result: 'ignored' });
    expect(await statusOf(id)).toBe('sent');
    const complaint = mailgunCallback({
      event: 'complained',
      recipient: 'spam@example.com',
      'user-variables': { email_id: id },
    });
    expect((await anonymous.post('/webhooks/mailgun', complaint)).body).toEqual({ result: 'applied' });
    expect(await statusOf(id)).toBe('complained');
    expect(await suppression('spam@example.com')).toMatchObject({ reason: 'complaint', source: 'mailgun' });
  });
});
