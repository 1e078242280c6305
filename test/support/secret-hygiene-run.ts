import { createHmac } from 'node:crypto';
import type Redis from 'ioredis';
import { AppProcess } from './app-process';
import { basicAuth, startMonitor } from './dashboard';
import { mailgunError, MailgunFake } from './fakes/mailgun-fake';
import { sendGridErrorResponse, SendGridFake } from './fakes/sendgrid-fake';
import { sesError, SesFake } from './fakes/ses-fake';
import { auditTrailWith, baseEnv, client, INLINE_EMAIL, TOKENS } from './fixtures';
import { waitUntil } from './ports';
import { PrivateRedis } from './private-redis';
import { dumpRedis } from './secret-scanner';
import { SmtpSink, type DataReply } from './smtp-sink';
import {
  AWS_REGION,
  DASHBOARD_USER,
  hex,
  MAILGUN_DOMAIN,
  SECRETS,
  SMTP_USER,
  WRONG,
} from './hygiene-secrets';
import { afterEndpointsReload } from './webhook-endpoint-reloads';
import { WebhookReceiver } from './webhook-receiver';

/** An HTTP response the run received: what was asked, and the headers and body it got. */
export interface RecordedResponse {
  where: string;
  text: string;
}

/** An email whose provider echoed a credential in its error: `lastError` must show the reason, redacted. */
export interface EchoedError {
  id: string;
  provider: string;
  status: string;
  lastError?: string;
}

interface Dependencies {
  redis: PrivateRedis;
  sink: SmtpSink;
  sendgrid: SendGridFake;
  mailgun: MailgunFake;
  ses: SesFake;
  receiver: WebhookReceiver;
}

/** The app's processes of the run. */
export interface HygieneProcesses {
  api: AppProcess;
  worker: AppProcess;
  monitor: AppProcess;
  /** An api that answers 429 to an address after three failed authentications (the others never do). */
  guarded: AppProcess;
}

const IDEMPOTENT_EMAIL = { to: ['ana@example.com'], subject: 'Once only', text: 'Hello' };

/**
 * A run that handles every secret FreeFace has — service tokens, the SMTP password, SendGrid's and Mailgun's API
 * keys, the AWS keys, the dashboard password, the Redis password, a webhook's signing secret — with the
 * chattiest logging (trace, and the SMTP conversation at debug), every provider sending, failing and echoing its
 * credentials back in its error, refused tokens and refused dashboard logins. It keeps what there is to search:
 * every HTTP response it received (headers and bodies, the audit trail and /metrics included), a dump of every
 * Redis key taken once every write had landed, and the processes' whole output (they are stopped at the end).
 */
export class SecretHygieneRun {
  readonly responses: RecordedResponse[] = [];
  readonly emailIds: string[] = [];
  readonly echoed: EchoedError[] = [];
  redisDump: { key: string; type: string; text: string }[] = [];
  /** The webhook's signing secret: shown in the two answers that created it, which are not recorded. */
  webhookSecret = '';
  processes!: HygieneProcesses;
  readonly inspect: Redis;
  readonly prefix: string;
  private readonly smtpReplies: DataReply[] = [];
  private readonly env: Record<string, string>;

  private constructor(private readonly dependencies: Dependencies) {
    this.inspect = dependencies.redis.client();
    dependencies.sink.reply = () => this.smtpReplies.shift();
    this.env = {
      ...baseEnv(dependencies.redis, dependencies.sink),
      LOG_LEVEL: 'trace',
      // config/logging.yaml keeps smtp at info; debug logs the SMTP conversation, AUTH included.
      LOG_LEVELS: 'smtp=debug',
      SMTP_USER,
      SMTP_PASSWORD: SECRETS.smtpPassword,
      EMAIL_PROVIDER: 'smtp',
      PROVIDER_FALLBACKS: 'sendgrid,mailgun,ses',
      SENDGRID_API_KEY: SECRETS.sendgridApiKey,
      SENDGRID_BASE_URL: dependencies.sendgrid.url,
      MAILGUN_API_KEY: SECRETS.mailgunApiKey,
      MAILGUN_WEBHOOK_SIGNING_KEY: SECRETS.mailgunWebhookSigningKey,
      MAILGUN_DOMAIN,
      MAILGUN_URL: dependencies.mailgun.url,
      AWS_REGION,
      AWS_ACCESS_KEY_ID: SECRETS.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: SECRETS.awsSecretAccessKey,
      SES_ENDPOINT: dependencies.ses.url,
      DASHBOARD_USER,
      DASHBOARD_PASSWORD: SECRETS.dashboardPassword,
      WEBHOOK_SECRETS_KEY: SECRETS.webhookSecretsKey,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      // Every refused token of the run reaches the token check; `guarded` plays the limit.
      AUTH_FAILURE_LIMIT: 'off',
    };
    this.prefix = this.env.QUEUE_PREFIX!;
  }

  /** Starts Redis, the SMTP sink, the provider fakes and the processes, and runs every step. */
  static async start(): Promise<SecretHygieneRun> {
    const [redis, sink, sendgrid, mailgun, ses, receiver] = await Promise.all([
      PrivateRedis.start({ password: SECRETS.redisPassword }),
      SmtpSink.start({ auth: { user: SMTP_USER, pass: SECRETS.smtpPassword } }),
      SendGridFake.start(SECRETS.sendgridApiKey),
      MailgunFake.start({ apiKey: SECRETS.mailgunApiKey, domain: MAILGUN_DOMAIN }),
      SesFake.start({
        region: AWS_REGION,
        accessKeyId: SECRETS.awsAccessKeyId,
        secretAccessKey: SECRETS.awsSecretAccessKey,
      }),
      WebhookReceiver.start(),
    ]);
    const run = new SecretHygieneRun({ redis, sink, sendgrid, mailgun, ses, receiver });
    try {
      await run.startProcesses();
      await run.exercise();
    } catch (error) {
      await run.stop();
      throw error;
    }
    return run;
  }

  get receiver(): WebhookReceiver {
    return this.dependencies.receiver;
  }

  /** Stops whatever still runs; the processes first, so that nothing they write is lost. */
  async stop(): Promise<void> {
    this.inspect.disconnect();
    await this.stopProcesses();
    const { sink, sendgrid, mailgun, ses, receiver, redis } = this.dependencies;
    await Promise.all([
      sink.stop(),
      sendgrid.stop(),
      mailgun.stop(),
      ses.stop(),
      receiver.stop(),
      redis.stop(),
    ]);
  }

  private async startProcesses(): Promise<void> {
    const [api, worker, monitor, guarded] = await Promise.all([
      AppProcess.start({ role: 'api', env: this.env }),
      AppProcess.start({ role: 'worker', env: this.env }),
      startMonitor(this.env),
      AppProcess.start({ role: 'api', env: { ...this.env, AUTH_FAILURE_LIMIT: '3/m' } }),
    ]);
    this.processes = { api, worker, monitor, guarded };
  }

  private async stopProcesses(): Promise<void> {
    await Promise.all(Object.values(this.processes ?? {}).map((app: AppProcess) => app.stop()));
  }

  /** Every step, in order; then Redis is dumped and the processes stopped, so that their output is whole. */
  private async exercise(): Promise<void> {
    await this.createWebhook();
    await this.sendThroughEveryPath();
    const idempotentId = await this.sendIdempotently();
    await this.receiveProviderCallbacks(idempotentId);
    await this.meetCarelessProviders();
    await this.retryDeadLetters();
    await this.cancelAScheduledEmail();
    await this.refuseTokens();
    await this.signInToTheDashboard();
    await this.readEverythingBack();
    this.redisDump = await dumpRedis(this.inspect);
    await this.stopProcesses();
  }

  /**
   * 0. A webhook on every event, made with an Idempotency-Key and replayed: its signing secret is in these two
   *    answers only (not recorded: the scan is for everywhere else), then signs every delivery that follows.
   */
  private async createWebhook(): Promise<void> {
    const { api } = this.processes;
    const hook = { url: this.receiver.url, events: ['email.sent', 'email.failed', 'email.dead'] };
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
    // The two api processes and the worker send webhooks; each has it before the first email goes out.
    this.webhookSecret = await afterEndpointsReload(this.dependencies.redis, this.prefix, 3, async () => {
      const { secret } = await createHook();
      expect((await createHook()).secret).toBe(secret);
      return secret;
    });
  }

  /**
   * 1. An email through each provider (pinned), a template, a batch with the secondary token, a group, and one
   *    with X-Service-Token instead of Authorization; all sent before the careless answers of step 3, which are
   *    scripted for the next request each fake takes.
   */
  private async sendThroughEveryPath(): Promise<void> {
    for (const provider of ['smtp', 'sendgrid', 'mailgun', 'ses']) {
      expect(await this.settled(await this.send({ ...INLINE_EMAIL, provider }))).toMatchObject({
        status: 'sent',
        provider,
      });
    }
    await this.send({
      to: ['ana@example.com'],
      template: 'welcome',
      data: { name: 'Ana', product: 'FreeFace', actionUrl: 'https://app.example.com' },
    });
    const batch = await this.apiCall('POST', '/api/v1/emails/batch', TOKENS.billingNext, {
      emails: [
        { to: ['bo@example.com'], subject: 'Batch 1', text: 'one' },
        { to: ['carl@example.com'], subject: 'Batch 2', text: 'two', provider: 'ses' },
      ],
    });
    expect(batch.status).toBe(202);
    this.emailIds.push(...(batch.body.ids as string[]));
    const group = await this.apiCall('POST', '/api/v1/emails/group', TOKENS.signup, {
      template: 'welcome',
      data: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
      recipients: [
        { email: 'dora@example.com', data: { name: 'Dora' } },
        { email: 'eve@example.com', data: { name: 'Eve' } },
      ],
    });
    expect(group.status).toBe(202);
    this.emailIds.push(...(group.body.ids as string[]));
    const viaHeader = await this.call(this.processes.api.baseUrl, 'POST', '/api/v1/emails', {
      headers: { 'x-service-token': TOKENS.billing },
      body: { to: ['ana@example.com'], subject: 'Via X-Service-Token', text: 'Hello', provider: 'mailgun' },
    });
    expect(viaHeader.status).toBe(202);
    this.emailIds.push(viaHeader.body.id as string);
    for (const emailId of this.emailIds) await this.settled(emailId, ['sent']);
  }

  /** 2. An idempotent request, its replay, and the same key with another body. Returns the email's id. */
  private async sendIdempotently(): Promise<string> {
    const base = this.processes.api.baseUrl;
    const key = { 'idempotency-key': `order-${hex(4)}` };
    const request = { token: TOKENS.billing, headers: key, body: IDEMPOTENT_EMAIL };
    const first = await this.call(base, 'POST', '/api/v1/emails', request);
    const replay = await this.call(base, 'POST', '/api/v1/emails', request);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    const conflict = await this.call(base, 'POST', '/api/v1/emails', {
      ...request,
      body: { ...IDEMPOTENT_EMAIL, text: 'Another' },
    });
    expect(conflict.status).toBe(409);
    const id = first.body.id as string;
    this.emailIds.push(id);
    await this.settled(id, ['sent']);
    return id;
  }

  /** 2b. Mailgun's event callbacks: one signed with the webhook key, one forged (refused with 401). */
  private async receiveProviderCallbacks(emailId: string): Promise<void> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = hex(25);
    const callback = (signature: string) =>
      this.call(this.processes.api.baseUrl, 'POST', '/webhooks/mailgun', {
        body: {
          signature: { timestamp, token, signature },
          'event-data': {
            id: hex(8),
            event: 'delivered',
            recipient: 'ana@example.com',
            'user-variables': { email_id: emailId },
          },
        },
      });
    const genuine = createHmac('sha256', SECRETS.mailgunWebhookSigningKey)
      .update(timestamp + token)
      .digest('hex');
    expect((await callback(genuine)).status).toBe(200);
    expect((await callback('0'.repeat(64))).status).toBe(401);
  }

  /**
   * 3. Careless providers: errors that echo the credentials they were given (raw, and as sent on the wire), one
   *    email at a time, each answered by the scripted error on its first attempt.
   */
  private async meetCarelessProviders(): Promise<void> {
    const { sendgrid, mailgun, ses } = this.dependencies;
    const careless = async (provider: string, status: string, script: () => void) => {
      script();
      const emailId = await this.send({
        to: ['ana@example.com'],
        subject: `${provider} error`,
        text: 'Hi',
        provider,
      });
      const settledAs = await this.settled(emailId);
      expect(settledAs.status).toBe(status);
      this.echoed.push({ id: emailId, provider, status, lastError: settledAs.lastError as string });
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
      this.smtpReplies.push({
        code: 451,
        message: `4.7.0 try again, ${SMTP_USER} / ${SECRETS.smtpPassword}`,
      }),
    );
    await careless('smtp', 'dead', () =>
      this.smtpReplies.push({
        code: 550,
        message: `5.7.1 relay refused for ${SMTP_USER} with password ${SECRETS.smtpPassword}`,
      }),
    );
  }

  /** 4. Dead letters retried, one through the API and one through the dashboard's button; both go out. */
  private async retryDeadLetters(): Promise<void> {
    const { monitor } = this.processes;
    const dead = this.echoed.filter((e) => e.status === 'dead');
    expect((await this.apiCall('GET', '/api/v1/dead-letters?limit=100', TOKENS.ops)).status).toBe(200);
    const [viaApi, viaDashboard] = [dead.find((e) => e.provider === 'sendgrid')!, dead[1]!];
    expect(viaDashboard.id).not.toBe(viaApi.id);
    expect((await this.apiCall('POST', `/api/v1/dead-letters/${viaApi.id}/retry`, TOKENS.ops)).status).toBe(
      202,
    );
    const retried = await this.dashboard(
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
    const ops = client(this.processes.api.baseUrl, TOKENS.ops);
    for (const { id } of [viaApi, viaDashboard])
      await auditTrailWith(ops, id, ['dead_lettered', 'retried_from_dead_letter', 'sent'], 20_000);
  }

  /** 5. A scheduled email, cancelled. */
  private async cancelAScheduledEmail(): Promise<void> {
    const id = await this.send({
      to: ['ana@example.com'],
      subject: 'Later',
      text: 'Hi',
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await this.apiCall('DELETE', `/api/v1/emails/${id}`, TOKENS.billing)).status).toBe(200);
  }

  /** 6. Refused tokens, in every place a caller might put one, on every process; past the limit, 429. */
  private async refuseTokens(): Promise<void> {
    const { api, worker, monitor, guarded } = this.processes;
    for (const token of [WRONG.unknownToken, WRONG.mistypedToken, WRONG.liveToken]) {
      expect((await this.apiCall('GET', '/api/v1/templates', token)).status).toBe(401);
      expect(
        (await this.call(api.baseUrl, 'GET', '/api/v1/emails', { headers: { 'x-service-token': token } }))
          .status,
      ).toBe(401);
      expect((await this.apiCall('GET', `/api/v1/templates?access_token=${token}`, undefined)).status).toBe(
        401,
      );
      expect((await this.apiCall('POST', '/api/v1/emails', token, IDEMPOTENT_EMAIL)).status).toBe(401);
      for (const base of [
        api.baseUrl,
        `http://127.0.0.1:${worker.healthPort}`,
        `http://127.0.0.1:${monitor.healthPort}`,
      ])
        expect((await this.call(base, 'GET', '/metrics', { token })).status).toBe(401);
    }
    // A real token in the wrong scheme, and one without the scope it needs.
    const basic = { authorization: `Basic ${Buffer.from(`billing:${TOKENS.billing}`).toString('base64')}` };
    expect((await this.call(api.baseUrl, 'GET', '/api/v1/templates', { headers: basic })).status).toBe(401);
    expect((await this.apiCall('POST', '/api/v1/emails', TOKENS.reports, IDEMPOTENT_EMAIL)).status).toBe(403);
    // Past the limit, a wrong token gets 429; the right one is let in.
    const limited: number[] = [];
    for (const token of [WRONG.unknownToken, WRONG.mistypedToken, WRONG.liveToken, WRONG.unknownToken])
      limited.push((await this.call(guarded.baseUrl, 'GET', '/api/v1/templates', { token })).status);
    limited.push(
      (await this.call(guarded.baseUrl, 'GET', '/api/v1/templates', { token: TOKENS.billing })).status,
    );
    expect(limited).toEqual([401, 401, 401, 429, 200]);
  }

  /** 7. The dashboard: signed in, and refused. */
  private async signInToTheDashboard(): Promise<void> {
    for (const path of ['/', '/api/overview', '/queues/', '/queues/api/queues', '/assets/dashboard.js'])
      expect((await this.dashboard(path, DASHBOARD_USER, SECRETS.dashboardPassword)).status).toBe(200);
    for (const [user, password] of [
      [DASHBOARD_USER, WRONG.dashboardPassword],
      [DASHBOARD_USER, WRONG.dashboardPasswordWithRealOne],
      ['intruder', SECRETS.dashboardPassword],
      // The password typed into the user field: the user name is logged, so this one must be cut out.
      [SECRETS.dashboardPassword, WRONG.dashboardPassword],
    ] as const)
      expect((await this.dashboard('/api/overview', user, password)).status).toBe(401);
  }

  /**
   * 8. Everything a caller can read back, once every write of the steps above has landed: the whole audit trail,
   *    every email, the figures and /metrics of every process.
   */
  private async readEverythingBack(): Promise<void> {
    for (const emailId of this.emailIds) {
      expect((await this.apiCall('GET', `/api/v1/emails/${emailId}`, TOKENS.ops)).status).toBe(200);
      expect((await this.apiCall('GET', `/api/v1/audit/${emailId}`, TOKENS.ops)).status).toBe(200);
    }
    for (const path of [
      '/api/v1/emails?limit=100',
      '/api/v1/queues',
      '/api/v1/service-metrics',
      '/api/v1/templates',
      '/api/v1/dead-letters?limit=100',
      '/docs-json',
    ])
      expect((await this.apiCall('GET', path, TOKENS.ops)).status).toBe(200);
    await this.writesLanded();
    let cursor: string | null = null;
    let auditEvents = 0;
    do {
      const page = await this.apiCall(
        'GET',
        `/api/v1/audit?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        TOKENS.ops,
      );
      expect(page.status).toBe(200);
      auditEvents += (page.body.items as unknown[]).length;
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(auditEvents).toBeGreaterThan(50); // more than one page
    const { api, worker, monitor } = this.processes;
    for (const app of [api, worker, monitor]) {
      const metrics = await this.call(`http://127.0.0.1:${app.healthPort}`, 'GET', '/metrics', {
        token: TOKENS.reports,
      });
      expect(metrics.status).toBe(200);
    }
  }

  /**
   * The audit trail and the per-service figures are written in batches after what they record, each process's
   * in order on its one connection. An email sent last by ops, which sent none before, marks the end: once its
   * trail holds every event and ops's figures count it, the api's and the worker's writes of everything before
   * it have landed; billing's one call to the guarded api (step 6) shows that one's.
   */
  private async writesLanded(): Promise<void> {
    const ops = client(this.processes.api.baseUrl, TOKENS.ops);
    const marker = await this.send(
      { to: ['ana@example.com'], subject: 'The last one', text: 'Hi' },
      TOKENS.ops,
    );
    await auditTrailWith(ops, marker, ['accepted', 'attempt', 'sent'], 20_000);
    type Figures = { emailsSent: number; endpoints: Record<string, number> };
    let figures: Record<string, Figures> = {};
    await waitUntil(
      async () => {
        figures = (await ops.get<Record<string, Figures>>('/api/v1/service-metrics')).body;
        return (
          figures.ops?.emailsSent === 1 &&
          figures.ops.endpoints['POST /api/v1/emails'] === 1 &&
          (figures.billing?.endpoints['GET /api/v1/templates'] ?? 0) >= 1
        );
      },
      10_000,
      'the per-service figures of every call and email',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; they are ${JSON.stringify(figures)}`);
    });
  }

  /** fetch, with the response's status, headers and body kept for the scan. */
  private async call(
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
    this.responses.push({
      where: `${method} ${base}${path} → ${response.status}`,
      text: `${headers}\n\n${text}`,
    });
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON: the text is recorded
    }
    return { status: response.status, headers: response.headers, body };
  }

  private apiCall(method: string, path: string, token: string | undefined, body?: unknown) {
    return this.call(this.processes.api.baseUrl, method, path, {
      ...(token ? { token } : {}),
      ...(body !== undefined ? { body } : {}),
    });
  }

  private dashboard(path: string, user: string, password: string, init: RequestInit = {}) {
    return this.call(`http://127.0.0.1:${this.processes.monitor.healthPort}`, init.method ?? 'GET', path, {
      headers: { authorization: basicAuth(user, password), ...(init.headers as Record<string, string>) },
    });
  }

  private async send(body: Record<string, unknown>, token = TOKENS.billing): Promise<string> {
    const accepted = await this.apiCall('POST', '/api/v1/emails', token, body);
    expect(accepted.status).toBe(202);
    this.emailIds.push(accepted.body.id as string);
    return accepted.body.id as string;
  }

  private async settled(id: string, statuses = ['sent', 'dead']): Promise<Record<string, unknown>> {
    let last: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        last = (await this.apiCall('GET', `/api/v1/emails/${id}`, TOKENS.ops)).body;
        return statuses.includes(last.status as string);
      },
      20_000,
      `email ${id} to be ${statuses.join(' or ')}`,
    );
    return last;
  }
}
