import { createHmac, randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { generateToken } from '../../src/auth/token-format';
import { AppProcess } from '../support/app-process';
import { basicAuth, startMonitor } from '../support/dashboard';
import { mailgunError, MailgunFake } from '../support/fakes/mailgun-fake';
import { sendGridErrorResponse, SendGridFake } from '../support/fakes/sendgrid-fake';
import { sesError, SesFake } from '../support/fakes/ses-fake';
import { baseEnv, INLINE_EMAIL, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import {
  base64Cores,
  digestForms,
  dumpRedis,
  SecretScanner,
  type SecretFinding,
} from '../support/secret-scanner';
import { SmtpSink, type DataReply } from '../support/smtp-sink';
import { WebhookReceiver } from '../support/webhook-receiver';

// Every secret is random per run, so that finding one anywhere can only mean it leaked from this run.
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const SECRETS = {
  smtpPassword: `smtp-${hex(12)}`,
  sendgridApiKey: `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
  mailgunApiKey: `key-${hex(16)}`,
  mailgunWebhookSigningKey: `whk-${hex(16)}`,
  // AWS secret keys are 40 characters of base64, `/` and `+` included (they change under URL encoding).
  awsSecretAccessKey: `${randomBytes(27).toString('base64').slice(0, 36)}/+x${hex(1).slice(0, 1)}`,
  awsAccessKeyId: `AKIA${hex(8).toUpperCase()}`,
  dashboardPassword: `dash-${hex(12)}`,
  redisPassword: `redis-${hex(12)}`,
  webhookSecretsKey: randomBytes(32).toString('base64'),
};
const SMTP_USER = 'freeface-relay';
const DASHBOARD_USER = 'ops';
const MAILGUN_DOMAIN = 'mg.freeface.test';
const AWS_REGION = 'eu-west-1';

/** Wrong credentials a caller might present: not secrets, but they must not be written down either. */
const WRONG = {
  /** Well-formed, checksum right, unknown to the service. */
  unknownToken: generateToken('dev'),
  /** The real token with its checksum mistyped: its first 34 characters are the real token's. */
  mistypedToken: TOKENS.billing.slice(0, -6) + 'AAAAAA',
  /** A token of the other environment. */
  liveToken: generateToken('live'),
  /** A wrong dashboard password, and one that contains the real one. */
  dashboardPassword: `wrong-${hex(8)}`,
  dashboardPasswordWithRealOne: `${SECRETS.dashboardPassword}!`,
};

interface Recorded {
  where: string;
  text: string;
}

/**
 * A run that handles every secret FreeFace has — service tokens, the SMTP password, SendGrid's and Mailgun's API
 * keys, the AWS keys, the dashboard password, the Redis password — with the chattiest logging (trace, and the
 * SMTP conversation at debug), every provider sending, failing and echoing its credentials back in its error,
 * refused tokens and refused dashboard logins. Afterwards every log line of every process, every HTTP response
 * the test received (headers and bodies, the audit trail and /metrics included) and every Redis key and value
 * is searched for each secret in every simple encoding.
 */
describe('secret hygiene: no secret in logs, responses, the audit trail, metrics or Redis', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let sendgrid: SendGridFake;
  let mailgun: MailgunFake;
  let ses: SesFake;
  let api: AppProcess;
  let worker: AppProcess;
  let monitor: AppProcess;
  /** An api that answers 429 to an address after three failed authentications (the others never do). */
  let guarded: AppProcess;
  let receiver: WebhookReceiver;
  let prefix: string;
  const responses: Recorded[] = [];
  let redisDump: { key: string; type: string; text: string }[] = [];
  const emailIds: string[] = [];
  /** Emails whose provider echoed a credential in its error: `lastError` must show the reason, redacted. */
  const echoed: { id: string; provider: string; status: string; lastError?: string }[] = [];
  const smtpReplies: DataReply[] = [];

  const secrets = new SecretScanner();
  for (const [name, token] of Object.entries(TOKENS)) {
    secrets.add(`token ${name}`, token);
    // The random part alone gives the whole token away (the checksum follows from it).
    secrets.add(`token ${name} without its checksum`, token.slice(0, -6));
  }
  for (const [name, value] of Object.entries(SECRETS)) secrets.add(name, value);
  secrets.add('SMTP AUTH PLAIN credentials', `\u0000${SMTP_USER}\u0000${SECRETS.smtpPassword}`);
  secrets.add('dashboard basic-auth credentials', `${DASHBOARD_USER}:${SECRETS.dashboardPassword}`);
  const wrong = new SecretScanner();
  for (const [name, value] of Object.entries(WRONG)) wrong.add(`wrong ${name}`, value);
  const digests = new SecretScanner();
  for (const [name, token] of Object.entries(TOKENS)) digests.add(`token ${name}`, token, digestForms);

  /** fetch, with the response's status, headers and body kept for the scan. */
  async function call(
    base: string,
    method: string,
    path: string,
    options: { token?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
    const response = await fetch(base + path, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    responses.push({ where: `${method} ${base}${path} → ${response.status}`, text: `${headers}\n\n${text}` });
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: the text is recorded
    }
    return { status: response.status, headers: response.headers, body };
  }

  const apiCall = (method: string, path: string, token: string | undefined, body?: unknown) =>
    call(api.baseUrl, method, path, { ...(token ? { token } : {}), ...(body !== undefined ? { body } : {}) });

  async function send(body: Record<string, unknown>, token = TOKENS.billing): Promise<string> {
    const accepted = await apiCall('POST', '/api/v1/emails', token, body);
    expect(accepted.status).toBe(202);
    emailIds.push(accepted.body.id as string);
    return accepted.body.id as string;
  }

  async function settled(id: string, statuses = ['sent', 'dead']): Promise<Record<string, unknown>> {
    let last: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        last = (await apiCall('GET', `/api/v1/emails/${id}`, TOKENS.ops)).body;
        return statuses.includes(last.status as string);
      },
      20_000,
      `email ${id} to be ${statuses.join(' or ')}`,
    );
    return last;
  }

  const dashboard = (path: string, user: string, password: string, init: RequestInit = {}) =>
    call(`http://127.0.0.1:${monitor.healthPort}`, init.method ?? 'GET', path, {
      headers: { authorization: basicAuth(user, password), ...(init.headers as Record<string, string>) },
    });

  beforeAll(async () => {
    [redis, sink, sendgrid, mailgun, ses] = await Promise.all([
      PrivateRedis.start({ password: SECRETS.redisPassword }),
      SmtpSink.start({ auth: { user: SMTP_USER, pass: SECRETS.smtpPassword } }),
      SendGridFake.start(SECRETS.sendgridApiKey),
      MailgunFake.start({ apiKey: SECRETS.mailgunApiKey, domain: MAILGUN_DOMAIN }),
      SesFake.start({
        region: AWS_REGION,
        accessKeyId: SECRETS.awsAccessKeyId,
        secretAccessKey: SECRETS.awsSecretAccessKey,
      }),
    ]);
    sink.reply = () => smtpReplies.shift();
    inspect = redis.client();
    const env: Record<string, string> = {
      ...baseEnv(redis, sink),
      LOG_LEVEL: 'trace',
      // config/logging.yaml keeps smtp at info; debug logs the SMTP conversation, AUTH included.
      LOG_LEVELS: 'smtp=debug',
      SMTP_USER,
      SMTP_PASSWORD: SECRETS.smtpPassword,
      EMAIL_PROVIDER: 'smtp',
      PROVIDER_FALLBACKS: 'sendgrid,mailgun,ses',
      SENDGRID_API_KEY: SECRETS.sendgridApiKey,
      SENDGRID_BASE_URL: sendgrid.url,
      MAILGUN_API_KEY: SECRETS.mailgunApiKey,
      MAILGUN_WEBHOOK_SIGNING_KEY: SECRETS.mailgunWebhookSigningKey,
      MAILGUN_DOMAIN,
      MAILGUN_URL: mailgun.url,
      AWS_REGION,
      AWS_ACCESS_KEY_ID: SECRETS.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: SECRETS.awsSecretAccessKey,
      SES_ENDPOINT: ses.url,
      DASHBOARD_USER,
      DASHBOARD_PASSWORD: SECRETS.dashboardPassword,
      WEBHOOK_SECRETS_KEY: SECRETS.webhookSecretsKey,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      // Every refused token of the test reaches the token check; `guarded` plays the limit.
      AUTH_FAILURE_LIMIT: 'off',
    };
    prefix = env.QUEUE_PREFIX!;
    [api, worker, monitor, guarded] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      startMonitor(env),
      AppProcess.start({ role: 'api', env: { ...env, AUTH_FAILURE_LIMIT: '3/m' } }),
    ]);

    // 0. A webhook on every event, made with an Idempotency-Key and replayed: its signing secret is in these
    //    two answers only (not recorded: the scan is for everywhere else), then signs every delivery below.
    receiver = await WebhookReceiver.start();
    const hook = { url: receiver.url, events: ['email.sent', 'email.failed', 'email.dead'] };
    const createHook = () =>
      fetch(`${api.baseUrl}/api/v1/webhooks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKENS.billing}`,
          'content-type': 'application/json',
          'idempotency-key': 'hygiene-hook',
        },
        body: JSON.stringify(hook),
      }).then((r) => r.json() as Promise<{ secret: string }>);
    const webhookSecret = (await createHook()).secret;
    expect((await createHook()).secret).toBe(webhookSecret);
    secrets.add('webhook signing secret', webhookSecret);
    secrets.add(
      'webhook signing key',
      Buffer.from(webhookSecret.slice('whsec_'.length), 'base64').toString('latin1'),
    );
    // Every process hears of a new webhook within a second.
    await new Promise((resolve) => setTimeout(resolve, 1200));

    // 1. An email through each provider (pinned), a template, a batch with the secondary token, a group,
    //    and one with X-Service-Token instead of Authorization.
    for (const provider of ['smtp', 'sendgrid', 'mailgun', 'ses']) {
      expect(await settled(await send({ ...INLINE_EMAIL, provider }))).toMatchObject({
        status: 'sent',
        provider,
      });
    }
    await send({
      to: ['ana@example.com'],
      template: 'welcome',
      data: { name: 'Ana', product: 'FreeFace', actionUrl: 'https://app.example.com' },
    });
    const batch = await apiCall('POST', '/api/v1/emails/batch', TOKENS.billingNext, {
      emails: [
        { to: ['bo@example.com'], subject: 'Batch 1', text: 'one' },
        { to: ['carl@example.com'], subject: 'Batch 2', text: 'two', provider: 'ses' },
      ],
    });
    expect(batch.status).toBe(202);
    emailIds.push(...(batch.body.ids as string[]));
    const group = await apiCall('POST', '/api/v1/emails/group', TOKENS.signup, {
      template: 'welcome',
      data: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
      recipients: [
        { email: 'dora@example.com', data: { name: 'Dora' } },
        { email: 'eve@example.com', data: { name: 'Eve' } },
      ],
    });
    expect(group.status).toBe(202);
    emailIds.push(...(group.body.ids as string[]));
    const viaHeader = await call(api.baseUrl, 'POST', '/api/v1/emails', {
      headers: { 'x-service-token': TOKENS.billing },
      body: { to: ['ana@example.com'], subject: 'Via X-Service-Token', text: 'Hello', provider: 'mailgun' },
    });
    expect(viaHeader.status).toBe(202);
    emailIds.push(viaHeader.body.id as string);
    // All sent before the careless answers below, which are scripted for the next request each fake takes.
    for (const emailId of emailIds) await settled(emailId, ['sent']);

    // 2. An idempotent request, its replay, and the same key with another body.
    const idempotent = { to: ['ana@example.com'], subject: 'Once only', text: 'Hello' };
    const key = { 'idempotency-key': `order-${hex(4)}` };
    const first = await call(api.baseUrl, 'POST', '/api/v1/emails', {
      token: TOKENS.billing,
      headers: key,
      body: idempotent,
    });
    const replay = await call(api.baseUrl, 'POST', '/api/v1/emails', {
      token: TOKENS.billing,
      headers: key,
      body: idempotent,
    });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    const conflict = await call(api.baseUrl, 'POST', '/api/v1/emails', {
      token: TOKENS.billing,
      headers: key,
      body: { ...idempotent, text: 'Another' },
    });
    expect(conflict.status).toBe(409);
    emailIds.push(first.body.id as string);
    await settled(first.body.id as string, ['sent']);

    // 2b. Mailgun's event callbacks: one signed with the webhook key, one forged (refused with 401).
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = hex(25);
    const callback = (signature: string) =>
      call(api.baseUrl, 'POST', '/webhooks/mailgun', {
        body: {
          signature: { timestamp, token, signature },
          'event-data': {
            id: hex(8),
            event: 'delivered',
            recipient: 'ana@example.com',
            'user-variables': { email_id: first.body.id },
          },
        },
      });
    const genuine = createHmac('sha256', SECRETS.mailgunWebhookSigningKey)
      .update(timestamp + token)
      .digest('hex');
    expect((await callback(genuine)).status).toBe(200);
    expect((await callback('0'.repeat(64))).status).toBe(401);

    // 3. Careless providers: errors that echo the credentials they were given (raw, and as sent on the wire),
    //    one email at a time, each answered by the scripted error on its first attempt.
    const careless = async (provider: string, status: string, script: () => void) => {
      script();
      const emailId = await send({
        to: ['ana@example.com'],
        subject: `${provider} error`,
        text: 'Hi',
        provider,
      });
      const settledAs = await settled(emailId);
      expect(settledAs.status).toBe(status);
      echoed.push({ id: emailId, provider, status, lastError: settledAs.lastError as string });
    };
    const bearer = `Authorization: Bearer ${SECRETS.sendgridApiKey}`;
    await careless('sendgrid', 'sent', () =>
      sendgrid.failNext(1, sendGridErrorResponse(500, `upstream failed for ${bearer}`)),
    );
    await careless('sendgrid', 'dead', () =>
      sendgrid.failNext(1, sendGridErrorResponse(400, `The API key ${SECRETS.sendgridApiKey} may not send`)),
    );
    const mailgunBasic = Buffer.from(`api:${SECRETS.mailgunApiKey}`).toString('base64');
    await careless('mailgun', 'dead', () =>
      mailgun.failNext(
        1,
        mailgunError(401, `Forbidden: key ${SECRETS.mailgunApiKey} (Authorization: Basic ${mailgunBasic})`),
      ),
    );
    await careless('ses', 'dead', () =>
      ses.failNext(
        1,
        sesError(
          403,
          'SignatureDoesNotMatch',
          `Signed with ${SECRETS.awsAccessKeyId} and the secret ${SECRETS.awsSecretAccessKey}`,
        ),
      ),
    );
    await careless('smtp', 'sent', () =>
      smtpReplies.push({ code: 451, message: `4.7.0 try again, ${SMTP_USER} / ${SECRETS.smtpPassword}` }),
    );
    await careless('smtp', 'dead', () =>
      smtpReplies.push({
        code: 550,
        message: `5.7.1 relay refused for ${SMTP_USER} with password ${SECRETS.smtpPassword}`,
      }),
    );

    // 4. Dead letters retried, one through the API and one through the dashboard's button.
    const dead = echoed.filter((e) => e.status === 'dead');
    expect((await apiCall('GET', '/api/v1/dead-letters?limit=100', TOKENS.ops)).status).toBe(200);
    const [viaApi, viaDashboard] = [dead.find((e) => e.provider === 'sendgrid')!, dead[1]!];
    expect((await apiCall('POST', `/api/v1/dead-letters/${viaApi.id}/retry`, TOKENS.ops)).status).toBe(202);
    const retried = await dashboard(
      `/api/dead-letters/${viaDashboard.id}/retry`,
      DASHBOARD_USER,
      SECRETS.dashboardPassword,
      {
        method: 'POST',
        headers: {
          'x-requested-with': 'FreeFaceDashboard',
          'sec-fetch-site': 'same-origin',
          origin: `http://127.0.0.1:${monitor.healthPort}`,
        },
      },
    );
    expect(retried.status).toBeLessThan(300);
    for (const email of [viaApi, viaDashboard]) expect(await settled(email.id, ['sent'])).toBeDefined();

    // 5. A scheduled email, cancelled.
    const id = await send({
      to: ['ana@example.com'],
      subject: 'Later',
      text: 'Hi',
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await apiCall('DELETE', `/api/v1/emails/${id}`, TOKENS.billing)).status).toBe(200);

    // 6. Refused tokens, in every place a caller might put one, on every process.
    for (const token of [WRONG.unknownToken, WRONG.mistypedToken, WRONG.liveToken]) {
      expect((await apiCall('GET', '/api/v1/templates', token)).status).toBe(401);
      expect(
        (await call(api.baseUrl, 'GET', '/api/v1/emails', { headers: { 'x-service-token': token } })).status,
      ).toBe(401);
      expect((await apiCall('GET', `/api/v1/templates?access_token=${token}`, undefined)).status).toBe(401);
      expect((await apiCall('POST', '/api/v1/emails', token, idempotent)).status).toBe(401);
      for (const base of [
        api.baseUrl,
        `http://127.0.0.1:${worker.healthPort}`,
        `http://127.0.0.1:${monitor.healthPort}`,
      ])
        expect((await call(base, 'GET', '/metrics', { token })).status).toBe(401);
    }
    // A real token in the wrong scheme, and one without the scope it needs.
    const basic = { authorization: `Basic ${Buffer.from(`billing:${TOKENS.billing}`).toString('base64')}` };
    expect((await call(api.baseUrl, 'GET', '/api/v1/templates', { headers: basic })).status).toBe(401);
    expect((await apiCall('POST', '/api/v1/emails', TOKENS.reports, idempotent)).status).toBe(403);
    // Past the limit, a wrong token gets 429; the right one is let in.
    const limited: number[] = [];
    for (const token of [WRONG.unknownToken, WRONG.mistypedToken, WRONG.liveToken, WRONG.unknownToken])
      limited.push((await call(guarded.baseUrl, 'GET', '/api/v1/templates', { token })).status);
    limited.push((await call(guarded.baseUrl, 'GET', '/api/v1/templates', { token: TOKENS.billing })).status);
    expect(limited).toEqual([401, 401, 401, 429, 200]);

    // 7. The dashboard: signed in, and refused.
    for (const path of ['/', '/api/overview', '/queues/', '/queues/api/queues', '/assets/dashboard.js'])
      expect((await dashboard(path, DASHBOARD_USER, SECRETS.dashboardPassword)).status).toBe(200);
    for (const [user, password] of [
      [DASHBOARD_USER, WRONG.dashboardPassword],
      [DASHBOARD_USER, WRONG.dashboardPasswordWithRealOne],
      ['intruder', SECRETS.dashboardPassword],
      // The password typed into the user field: the user name is logged, so this one must be cut out.
      [SECRETS.dashboardPassword, WRONG.dashboardPassword],
    ] as const)
      expect((await dashboard('/api/overview', user, password)).status).toBe(401);

    // 8. Everything a caller can read back.
    for (const emailId of emailIds) {
      expect((await apiCall('GET', `/api/v1/emails/${emailId}`, TOKENS.ops)).status).toBe(200);
      expect((await apiCall('GET', `/api/v1/audit/${emailId}`, TOKENS.ops)).status).toBe(200);
    }
    for (const path of [
      '/api/v1/emails?limit=100',
      '/api/v1/queues',
      '/api/v1/service-metrics',
      '/api/v1/templates',
      '/api/v1/dead-letters?limit=100',
      '/docs-json',
    ])
      expect((await apiCall('GET', path, TOKENS.ops)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // audit batches and per-service figures flush
    let cursor: string | null = null;
    let auditEvents = 0;
    do {
      const page = await apiCall(
        'GET',
        `/api/v1/audit?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        TOKENS.ops,
      );
      expect(page.status).toBe(200);
      auditEvents += (page.body.items as unknown[]).length;
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(auditEvents).toBeGreaterThan(50); // more than one page
    for (const app of [api, worker, monitor]) {
      const metrics = await call(`http://127.0.0.1:${app.healthPort}`, 'GET', '/metrics', {
        token: TOKENS.reports,
      });
      expect(metrics.status).toBe(200);
    }

    // 9. Redis, every key, while everything is still there; then the processes stop, so their logs are whole.
    redisDump = await dumpRedis(inspect);
    await Promise.all([api.stop(), worker.stop(), monitor.stop(), guarded.stop()]);
  }, 180_000);

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), worker?.stop(), monitor?.stop(), guarded?.stop()]);
    await Promise.all([
      sink?.stop(),
      sendgrid?.stop(),
      mailgun?.stop(),
      ses?.stop(),
      receiver?.stop(),
      redis?.stop(),
    ]);
  });

  const processes = () => ({ api, worker, monitor, 'rate-limited api': guarded });
  const describeFinding = (f: SecretFinding) => `${f.secret} (${f.form}) in ${f.where}: ${f.context}`;

  function scanEverything(scanner: SecretScanner, dump = redisDump): SecretFinding[] {
    const findings: SecretFinding[] = [];
    for (const [name, app] of Object.entries(processes())) {
      findings.push(...scanner.scanLines(`${name} stdout`, app.stdout));
      findings.push(...scanner.scanLines(`${name} stderr`, app.stderr.join('').split('\n')));
    }
    for (const response of responses)
      findings.push(...scanner.scan(`response to ${response.where}`, response.text));
    for (const { key, type, text } of dump) {
      findings.push(...scanner.scan(`the name of Redis key ${key}`, key));
      findings.push(...scanner.scan(`Redis key ${key} (${type})`, text));
    }
    return findings;
  }

  it('has a scanner that finds a secret planted in a log line, a response and Redis (self-check)', async () => {
    // The places the real scan reads, each with a secret planted in a form it could leak in.
    const plantedKey = `${prefix}:planted:${hex(4)}`;
    await inspect.hset(
      plantedKey,
      'header',
      `Basic ${Buffer.from(`api:${SECRETS.mailgunApiKey}`).toString('base64')}`,
    );
    const authPlain = Buffer.from(`\u0000${SMTP_USER}\u0000${SECRETS.smtpPassword}`).toString('base64');
    worker.stdout.push(
      JSON.stringify({ level: 'debug', context: 'smtp', msg: `C: AUTH PLAIN ${authPlain}` }),
    );
    responses.push({ where: 'planted', text: `x-debug: ${encodeURIComponent(SECRETS.awsSecretAccessKey)}` });
    try {
      const found = scanEverything(secrets, await dumpRedis(inspect));
      expect(new Set(found.map((f) => f.where))).toEqual(
        new Set([
          `Redis key ${plantedKey} (hash)`,
          `worker stdout line ${worker.stdout.length}`,
          'response to planted',
        ]),
      );
      expect(found.map((f) => `${f.secret} (${f.form})`)).toEqual(
        expect.arrayContaining([
          'mailgunApiKey (base64)',
          'SMTP AUTH PLAIN credentials (base64)',
          'smtpPassword (base64)',
          'awsSecretAccessKey (URL-encoded)',
        ]),
      );
    } finally {
      await inspect.del(plantedKey);
      worker.stdout.pop();
      responses.pop();
    }
    expect(scanEverything(secrets, await dumpRedis(inspect)).map(describeFinding)).toEqual([]);
    // Each form, as it could be written.
    for (const text of [
      `{"msg":"x","reason":"${SECRETS.awsSecretAccessKey.replace(/\//g, '\\/')}"}`,
      Buffer.from(`x${TOKENS.ops}`).toString('base64url'),
      Buffer.from(`xy${TOKENS.billingNext.slice(0, -6)}`).toString('base64'),
      Buffer.from(SECRETS.dashboardPassword).toString('hex'),
      `redis://:${SECRETS.redisPassword}@127.0.0.1`,
    ])
      expect(secrets.scan('planted', text)).not.toEqual([]);
    expect(base64Cores(Buffer.from(TOKENS.ops))).toHaveLength(3);
  });

  it('ran what it claims: every provider sent, each careless error was answered, logins and tokens refused', () => {
    const workerLogs = worker.logs();
    const sentBy = new Set(workerLogs.filter((l) => l.msg === 'email sent').map((l) => l.provider));
    expect([...sentBy].sort()).toEqual(['mailgun', 'sendgrid', 'ses', 'smtp']);
    expect(workerLogs.some((l) => l.context === 'smtp' && /AUTH PLAIN/.test(String(l.msg)))).toBe(true);
    expect(workerLogs.filter((l) => l.msg === 'email dead: no more attempts').length).toBeGreaterThanOrEqual(
      4,
    );
    expect(api.logs().filter((l) => l.msg === 'service token refused').length).toBeGreaterThanOrEqual(12);
    expect(monitor.logs().filter((l) => l.msg === 'dashboard login failed')).toHaveLength(4);
    const hookTypes = new Set(receiver.received.map((hook) => hook.json.type));
    expect([...hookTypes].sort()).toEqual(expect.arrayContaining(['email.dead', 'email.sent']));
  });

  it('shows a careless provider’s reason with the echoed credentials cut out', () => {
    expect(echoed).toHaveLength(6);
    for (const { lastError } of echoed) expect(lastError).toMatch(/\[(REDACTED|redacted)\]/);
  });

  it('finds no secret in any log line, HTTP response, audit entry, /metrics or Redis key', () => {
    const findings = scanEverything(secrets);
    const lines = Object.values(processes()).reduce((sum, app) => sum + app.stdout.length, 0);
    const bytes = (texts: string[]) => texts.reduce((sum, text) => sum + text.length, 0);
    process.stdout.write(
      `secret-hygiene: ${secrets.size} secrets (${secrets.needleCount} forms) looked for in ${lines} log lines ` +
        `of ${Object.keys(processes()).length} processes, ${responses.length} HTTP responses ` +
        `(${Math.round(bytes(responses.map((r) => r.text)) / 1024)} KB) and ${redisDump.length} Redis keys ` +
        `(${Math.round(bytes(redisDump.map((k) => k.key + k.text)) / 1024)} KB): ${findings.length} found\n`,
    );
    expect(findings.map(describeFinding)).toEqual([]);
  });

  it('writes no refused token or password anywhere either', () => {
    expect(scanEverything(wrong).map(describeFinding)).toEqual([]);
  });

  it('keeps the tokens’ SHA-256 digests in memory only: none in logs, responses or Redis', () => {
    expect(scanEverything(digests).map(describeFinding)).toEqual([]);
  });

  it('scanned what it meant to: every process, responses of every kind, every type of Redis key', () => {
    expect(Object.values(processes()).every((app) => app.stdout.length > 20)).toBe(true);
    for (const kind of [
      '/api/v1/audit?',
      '/metrics',
      '/api/overview',
      '/queues/api/queues',
      '/api/v1/emails/',
    ])
      expect(responses.some((r) => r.where.includes(kind))).toBe(true);
    expect(new Set(redisDump.map((k) => k.type))).toEqual(
      new Set(['string', 'hash', 'list', 'set', 'zset', 'stream']),
    );
  });
});
