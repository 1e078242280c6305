import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const SMTP_USER = 'freeface-relay';
const SMTP_PASSWORD = 'sm7p-Pa55word-that-must-not-leak';
const BODY_MARKER = 'BODY-MARKER-8f3a2c';

/**
 * A run that uses every secret (service tokens, an SMTP password) with the chattiest logging, whose whole
 * output is then searched for them.
 */
describe('logging', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let app: AppProcess;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([
      PrivateRedis.start(),
      SmtpSink.start({ auth: { user: SMTP_USER, pass: SMTP_PASSWORD } }),
    ]);
    app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis, sink),
        LOG_LEVEL: 'trace',
        LOG_LEVELS: 'smtp=debug,templates=trace',
        SMTP_USER,
        SMTP_PASSWORD,
      },
    });
    const billing = client(app.baseUrl, TOKENS.billing);
    const wrong = TOKENS.billing.slice(0, -6) + 'AAAAAA';
    await client(app.baseUrl, wrong).get('/api/v1/templates');
    await client(app.baseUrl).get('/api/v1/templates', {
      'x-service-token': TOKENS.ops,
      'x-request-id': 'req-logging-1',
    });
    const inline = await billing.post(
      '/api/v1/emails',
      {
        to: ['ana@example.com'],
        subject: 'Logging test',
        text: `The body holds ${BODY_MARKER}`,
      },
      { 'x-request-id': 'req-logging-2' },
    );
    const templated = await billing.post('/api/v1/emails', {
      to: ['ana@example.com'],
      template: 'welcome',
      data: { name: 'Ana', product: 'FreeFace', actionUrl: 'https://app.example.com' },
    });
    for (const id of [inline.body.id, templated.body.id]) {
      await waitUntil(
        async () => (await billing.get(`/api/v1/emails/${id as string}`)).body.status === 'sent',
        15_000,
        'delivery',
      );
    }
    await app.stop();
  });

  afterAll(async () => {
    await sink?.stop();
    await redis?.stop();
  });

  it('writes JSON lines only to stdout', () => {
    expect(app.stdout.length).toBeGreaterThan(10);
    for (const line of app.stdout) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('never writes a raw token or the SMTP password, in any form', () => {
    const output = app.stdout.join('\n') + app.stderr.join('');
    for (const secret of [...Object.values(TOKENS), TOKENS.billing.slice(0, -6) + 'AAAAAA', SMTP_PASSWORD]) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(output).not.toContain(Buffer.from(`\u0000${SMTP_USER}\u0000${SMTP_PASSWORD}`).toString('base64'));
  });

  it('puts the request id on every line of a request', () => {
    const lines = app.logs().filter((line) => line.requestId === 'req-logging-2');
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['email accepted', 'request completed']),
    );
    expect(
      app.logs().some((line) => line.requestId === 'req-logging-1' && line.msg === 'request completed'),
    ).toBe(true);
  });

  it('ends each request with one line: method, URL, status, time and the calling service', () => {
    const completed = app
      .logs()
      .filter((line) => line.requestId === 'req-logging-2' && line.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      level: 'info',
      context: 'http',
      service: 'billing',
      method: 'POST',
      url: '/api/v1/emails',
      statusCode: 202,
      responseTime: expect.any(Number),
    });
    expect(completed[0]).not.toHaveProperty('req');
  });

  it('logs the service that called, and ids rather than people', () => {
    const accepted = app
      .logs()
      .find((line) => line.msg === 'email accepted' && line.requestId === 'req-logging-2')!;
    expect(accepted).toMatchObject({ service: 'billing', emailId: expect.any(String), context: 'emails' });
    expect(JSON.stringify(accepted)).not.toContain('ana@example.com');
  });

  it('logs refused tokens without the token', () => {
    const refused = app.logs().find((line) => line.msg === 'service token refused');
    expect(refused).toMatchObject({ level: 'warn', reason: 'malformed', context: 'auth' });
  });

  it('logs the SMTP conversation at debug, without the message itself', () => {
    const smtp = app.logs().filter((line) => line.context === 'smtp');
    expect(smtp.length).toBeGreaterThan(5);
    expect(smtp.every((line) => line.level === 'debug')).toBe(true);
    expect(smtp.some((line) => /^(EHLO|MAIL FROM|RCPT TO)/.test(String(line.msg)))).toBe(true);
    expect(app.stdout.join('\n')).not.toContain(BODY_MARKER);
  });

  it('logs template renders with their time', () => {
    const render = app.logs().find((line) => line.msg === 'template rendered');
    expect(render).toMatchObject({ context: 'templates', template: 'welcome', renderMs: expect.any(Number) });
  });

  it('tags each delivery line with its email id', async () => {
    const sentLines = () => app.logs().filter((line) => line.msg === 'email sent');
    // An email shows as sent before its log line arrives through the process's stdout.
    await waitUntil(() => sentLines().length >= 2, 5_000, 'the log lines of the two sends');
    const sent = sentLines();
    expect(sent).toHaveLength(2);
    for (const line of sent)
      expect(line).toMatchObject({
        emailId: expect.any(String),
        provider: 'smtp',
        latencyMs: expect.any(Number),
      });
  });

  it("shows at debug where each email's time went, in the API and in the worker", () => {
    const accept = app.logs().filter((line) => line.msg === 'accept timing');
    expect(accept).toHaveLength(2);
    expect(accept[0]).toMatchObject({
      context: 'emails',
      level: 'debug',
      emailId: expect.any(String),
      steps: { prepare: expect.any(Number), store: expect.any(Number) },
      totalMs: expect.any(Number),
    });
    expect(accept[1]!.steps).toMatchObject({ render: expect.any(Number) });
    const delivery = app.logs().filter((line) => line.msg === 'delivery timing');
    expect(delivery).toHaveLength(2);
    for (const line of delivery) {
      expect(line).toMatchObject({
        context: 'delivery',
        level: 'debug',
        emailId: expect.any(String),
        outcome: 'sent',
        provider: 'smtp',
        steps: {
          claim: expect.any(Number),
          prepare: expect.any(Number),
          send: expect.any(Number),
          record: expect.any(Number),
        },
      });
      const steps = line.steps as Record<string, number>;
      const total = Object.values(steps).reduce((sum, ms) => sum + ms, 0);
      expect(Number(line.totalMs)).toBeGreaterThanOrEqual(total - 0.05);
    }
  });
});

describe('per-logger levels', () => {
  it('follows LOG_LEVELS over LOG_LEVEL: smtp quiet at the default, templates loud', async () => {
    const redis = await PrivateRedis.start();
    const sink = await SmtpSink.start();
    const app = await AppProcess.start({
      role: 'all',
      env: { ...baseEnv(redis, sink), LOG_LEVEL: 'warn', LOG_LEVELS: 'templates=debug' },
      waitForStartLog: false,
    });
    try {
      const billing = client(app.baseUrl, TOKENS.billing);
      const sent = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        template: 'welcome',
        data: { name: 'Ana', product: 'FreeFace', actionUrl: 'https://app.example.com' },
      });
      await sink.waitForMessages(1);
      await waitUntil(
        async () => (await billing.get(`/api/v1/emails/${sent.body.id as string}`)).body.status === 'sent',
        5000,
        'sent',
      );
    } finally {
      await app.stop();
      await sink.stop();
      await redis.stop();
    }
    const logs = app.logs();
    expect(logs.some((line) => line.msg === 'template rendered')).toBe(true);
    expect(logs.some((line) => line.msg === 'email accepted' || line.msg === 'email sent')).toBe(false);
    expect(logs.some((line) => line.context === 'smtp')).toBe(false);
  });
});
