import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { AppProcess } from './support/app-process';
import { basicAuth, DASHBOARD, dashboardEnv, startMonitor } from './support/dashboard';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { selfSignedCertificate } from './support/self-signed-certificate';
import { SmtpSink } from './support/smtp-sink';

const MAX_BYTES = 200_000;
const QUEUED = /^250 2\.0\.0 queued as ([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The SMTP ingress end to end: nodemailer, as a legacy application would use it, sends through an `api,smtp`
 * process over STARTTLS (a certificate made for the test) with a service's name and token; a worker delivers
 * to a real SMTP sink. Every refusal gets its documented code and leaves nothing behind.
 */
describe('SMTP ingress (api,smtp + worker processes, STARTTLS, a real SMTP sink)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let front: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let env: Record<string, string>;
  const certificate = selfSignedCertificate('smtp.freeface.test');

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const dir = mkdtempSync(join(tmpdir(), 'freeface-smtp-'));
    writeFileSync(join(dir, 'cert.pem'), certificate.pem);
    writeFileSync(join(dir, 'key.pem'), certificate.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    env = {
      ...baseEnv(redis, sink),
      SMTP_INGRESS_TLS_CERT: join(dir, 'cert.pem'),
      SMTP_INGRESS_TLS_KEY: join(dir, 'key.pem'),
      MAX_BODY_BYTES: String(MAX_BYTES),
      // The sign-up service may send 2 messages at once, then 2 an hour: the third is a 450.
      SERVICE_TOKEN_SIGN_UP_RATE_LIMIT: '2/h',
    };
    [front, worker] = await Promise.all([
      AppProcess.start({ role: 'api,smtp', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(front.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await Promise.all([front?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  /** A nodemailer transport to the ingress; STARTTLS required and the test's certificate trusted. */
  const transport = (options: Partial<SMTPTransport.Options> = {}) =>
    createTransport({
      host: '127.0.0.1',
      port: front.smtpPort,
      secure: false,
      requireTLS: true,
      // The certificate is checked against the test's own CA (itself); the name is not, as we dial an IP.
      tls: { ca: [certificate.pem], checkServerIdentity: () => undefined },
      auth: { user: 'billing', pass: TOKENS.billing },
      ...options,
    } as SMTPTransport.Options);

  const refusal = async (send: Promise<unknown>) => {
    const error = (await send.then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: unknown) => e,
    )) as { responseCode?: number; response?: string; code?: string };
    return { code: error.responseCode, response: error.response ?? '', kind: error.code };
  };

  const emailCount = async () =>
    (await client(front.baseUrl, TOKENS.ops).get<{ items: unknown[] }>('/api/v1/emails?service=*&limit=100'))
      .body.items.length;

  it('queues a message sent with STARTTLS and AUTH, answers with its id, and delivers it with that X-Email-Id', async () => {
    const info = await transport().sendMail({
      from: 'Billing <billing@freeface.test>',
      to: 'Ana <ana@example.com>',
      cc: 'carl@example.com',
      bcc: 'dora@example.com',
      subject: 'Invoice 42 over SMTP',
      text: 'Hello Ana, your invoice is attached.',
      html: '<p>Hello Ana, your <b>invoice</b> is attached.</p>',
      attachments: [{ filename: 'invoice.txt', content: 'INVOICE 42' }],
      headers: {
        'X-Priority-Lane': 'high',
        'X-Campaign': 'invoices',
        'List-Unsubscribe': '<mailto:u@freeface.test>',
      },
    });
    const id = QUEUED.exec(info.response)?.[1];
    expect([info.response, id]).toEqual([info.response, expect.any(String)]);

    const status = await waitForStatus(id!, 'sent');
    expect(status).toMatchObject({
      id,
      service: 'billing',
      priority: 'high',
      subject: 'Invoice 42 over SMTP',
      // As on the API, `to` is the To list; Cc and Bcc recipients are in the envelope below.
      to: ['ana@example.com'],
    });
    const delivered = sink.find(id!);
    expect(delivered).toBeDefined();
    const { parsed, envelope } = delivered!;
    expect(parsed.subject).toBe('Invoice 42 over SMTP');
    expect(parsed.text?.trim()).toBe('Hello Ana, your invoice is attached.');
    expect(parsed.html).toContain('<b>invoice</b>');
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['invoice.txt', 'INVOICE 42'],
    ]);
    expect(parsed.headers.get('x-campaign')).toBe('invoices');
    // mailparser folds List-* headers into one 'list' entry: read the line itself.
    expect(parsed.headerLines.find((h) => h.key === 'list-unsubscribe')?.line).toBe(
      'List-Unsubscribe: <mailto:u@freeface.test>',
    );
    expect(parsed.headers.has('x-priority-lane')).toBe(false);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect([...envelope.to].sort()).toEqual(['ana@example.com', 'carl@example.com', 'dora@example.com']);

    const audit = await billing.get<{ items: { event: string; requestId: string | null }[] }>(
      `/api/v1/audit/${id}`,
    );
    expect(audit.body.items.map((e) => e.event)).toEqual(
      expect.arrayContaining(['accepted', 'attempt', 'sent']),
    );
    expect(audit.body.items[0]!.requestId).toMatch(/^smtp-/);
    // The per-service figures name SMTP messages beside the REST endpoints (counted in batches: wait).
    await waitUntil(
      async () => {
        const figures = await billing.get<{ billing?: { endpoints: Record<string, number> } }>(
          '/api/v1/service-metrics',
        );
        return (figures.body.billing?.endpoints['SMTP DATA'] ?? 0) >= 1;
      },
      5_000,
      'SMTP DATA in the service figures',
    );
  });

  it('refuses bad credentials, another service’s name, a token without send, and mail without AUTH', async () => {
    const before = await emailCount();
    const message = { from: 'x@freeface.test', to: 'ana@example.com', subject: 'No', text: 'no' };
    const wrongToken = await refusal(
      transport({ auth: { user: 'billing', pass: TOKENS.signup } }).sendMail(message),
    );
    expect(wrongToken).toMatchObject({ code: 535, kind: 'EAUTH' });
    expect(wrongToken.response).toMatch(/^535 5\.7\.8 /);
    const unknown = await refusal(
      transport({ auth: { user: 'billing', pass: 'st_dev_notarealtoken' } }).sendMail(message),
    );
    expect(unknown.code).toBe(535);
    const readOnly = await refusal(
      transport({ auth: { user: 'reports', pass: TOKENS.reports } }).sendMail(message),
    );
    expect(readOnly).toMatchObject({ code: 535 });
    expect(readOnly.response).toMatch(/send scope/);
    const anonymous = await refusal(transport({ auth: undefined }).sendMail(message));
    expect(anonymous.code).toBe(530);
    // And a token is never sent in clear: AUTH before STARTTLS is refused.
    const plain = await refusal(transport({ requireTLS: false, ignoreTLS: true }).sendMail(message));
    expect(plain.code).toBe(538);
    expect(await emailCount()).toBe(before);
    expect(front.stdout.join('\n')).not.toContain(TOKENS.signup);
  });

  it('sends a client away (421) after 10 failed logins, yet lets a correct login in and queues its message', async () => {
    const inspect = redis.client();
    const failures = `${env.QUEUE_PREFIX}:auth-failures:127.0.0.1`;
    try {
      await inspect.del(failures);
      const message = { from: 'x@freeface.test', to: 'ana@example.com', subject: 'Guess', text: 'no' };
      const guess = transport({ auth: { user: 'billing', pass: 'st_dev_notarealtoken' } });
      for (let i = 0; i < 10; i++)
        expect([i, (await refusal(guess.sendMail(message))).code]).toEqual([i, 535]);
      const refused = await refusal(guess.sendMail(message));
      expect(refused).toMatchObject({ code: 421, kind: 'EAUTH' });
      expect(refused.response).toMatch(/^421 4\.3\.2 Too many failed logins from this address/);

      // AUTH_FAILURE_LIMIT slows guessing; a valid token is not a guess, so its session goes on as usual.
      const info = await transport().sendMail({
        from: 'billing@freeface.test',
        to: 'ana@example.com',
        subject: 'Past the failed-login limit',
        text: 'x',
      });
      await waitForStatus(QUEUED.exec(info.response)![1]!, 'sent');
      expect(front.logs().filter((l) => l.msg === 'client address refused until its window ends')).toEqual([
        expect.objectContaining({ ip: '127.0.0.1', via: 'smtp', attempt: 'malformed' }),
      ]);
    } finally {
      await inspect.del(failures);
      inspect.disconnect();
    }
  });

  it('refuses a message over MAX_BODY_BYTES with 552 and queues nothing', async () => {
    const before = await emailCount();
    const tooBig = await refusal(
      transport().sendMail({
        from: 'billing@freeface.test',
        to: 'ana@example.com',
        subject: 'Too big',
        text: 'see attachment',
        attachments: [{ filename: 'big.bin', content: Buffer.alloc(MAX_BYTES, 7) }],
      }),
    );
    expect(tooBig.code).toBe(552);
    expect(await emailCount()).toBe(before);
  });

  it('answers 554 with what to fix when the message breaks a rule of the API', async () => {
    const badLane = await refusal(
      transport().sendMail({
        from: 'billing@freeface.test',
        to: 'ana@example.com',
        subject: 'Lane',
        text: 'x',
        headers: { 'X-Priority-Lane': 'urgent' },
      }),
    );
    expect(badLane.code).toBe(554);
    expect(badLane.response).toMatch(/x-priority-lane must be one of high, medium, low/);
    const reserved = await refusal(
      transport().sendMail({
        from: 'billing@freeface.test',
        to: 'ana@example.com',
        subject: '',
        text: 'no subject',
      }),
    );
    expect(reserved.code).toBe(554);
    expect(reserved.response).toMatch(/subject/);
  });

  it('drops the trace fields a relay adds on the way, and refuses provider instructions and Resent-* (554)', async () => {
    // A client's relay writes these whether the client wants them or not; they describe the hop to us.
    const relayed = await transport().sendMail({
      from: 'billing@freeface.test',
      to: 'ana@example.com',
      subject: 'Relayed',
      text: 'x',
      headers: {
        Received: 'from app.freeface.test by relay.freeface.test; Thu, 26 Nov 2026 10:00:00 +0000',
        'DKIM-Signature': 'v=1; a=rsa-sha256; d=freeface.test; s=relay; b=abc',
        'ARC-Seal': 'i=1; a=rsa-sha256; cv=none; d=relay.freeface.test; b=def',
        'Authentication-Results': 'relay.freeface.test; dkim=pass',
        'X-Campaign': 'relayed',
      },
    });
    const id = QUEUED.exec(relayed.response)![1]!;
    await waitForStatus(id, 'sent');
    const delivered = sink.find(id)!;
    expect(delivered.parsed.headers.get('x-campaign')).toBe('relayed');
    for (const name of ['received', 'dkim-signature', 'arc-seal', 'authentication-results'])
      expect([name, delivered.parsed.headers.has(name)]).toEqual([name, false]);

    // These a client writes on purpose: refused as the API refuses them, and nothing is queued.
    const before = await emailCount();
    for (const [name, value] of [
      ['X-SES-CONFIGURATION-SET', 'someone-elses'],
      ['X-SMTPAPI', '{"category":["x"]}'],
      ['X-Mailgun-Variables', '{"a":1}'],
      ['X-SG-EID', 'x'],
      ['Resent-From', 'boss@freeface.test'],
    ]) {
      const refused = await refusal(
        transport().sendMail({
          from: 'billing@freeface.test',
          to: 'ana@example.com',
          subject: 'Steered',
          text: 'x',
          headers: { [name!]: value! },
        }),
      );
      expect([name, refused.code]).toEqual([name, 554]);
      expect(refused.response.toLowerCase()).toContain(`headers header "${name!.toLowerCase()}"`);
    }
    expect(await emailCount()).toBe(before);
  });

  it("answers 450 past the service's rate limit, so that the client tries again later", async () => {
    const signup = transport({ auth: { user: 'sign_up', pass: TOKENS.signup } });
    const message = { from: 'signup@freeface.test', to: 'ana@example.com', subject: 'Welcome', text: 'Hi' };
    expect((await signup.sendMail(message)).response).toMatch(QUEUED);
    expect((await signup.sendMail(message)).response).toMatch(QUEUED);
    const limited = await refusal(signup.sendMail(message));
    expect(limited.code).toBe(450);
    expect(limited.response).toMatch(/^450 4\.7\.0 Rate limited: .*retry after \d+ s/);
  });

  it('answers 451 while Redis is away (nothing is queued) and queues the same message once it is back', async () => {
    const message = {
      from: 'billing@freeface.test',
      to: 'ana@example.com',
      subject: 'During the outage',
      text: 'x',
    };
    await redis.pause('SIGTERM');
    try {
      const refused = await refusal(transport().sendMail(message));
      expect(refused.code).toBe(451);
    } finally {
      await redis.resume();
    }
    await waitUntil(
      async () => (await fetch(`http://127.0.0.1:${front.port}/health/ready`)).status === 200,
      20_000,
      'readiness after the outage',
    );
    const info = await transport().sendMail(message);
    const id = QUEUED.exec(info.response)![1]!;
    await waitForStatus(id, 'sent');
    expect(sink.messages.filter((m) => m.parsed.subject === 'During the outage')).toHaveLength(1);
  });

  it('is counted in /metrics and checked by /health/ready', async () => {
    const metrics = await fetch(`http://127.0.0.1:${front.port}/metrics`, {
      headers: { authorization: `Bearer ${TOKENS.billing}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/freeface_smtp_sessions_total\{outcome="opened"\} [1-9]/);
    expect(metrics).toMatch(/freeface_smtp_sessions_total\{outcome="auth_failed"\} [1-9]/);
    expect(metrics).toMatch(/freeface_smtp_messages_total\{outcome="accepted"\} [1-9]/);
    expect(metrics).toMatch(/freeface_smtp_messages_total\{outcome="refused"\} [1-9]/);
  });

  it('runs as a role of its own, with its probes on SMTP_HEALTH_PORT, and shows on the dashboard', async () => {
    const [smtp, monitor] = await Promise.all([
      AppProcess.start({ role: 'smtp', env }),
      startMonitor({ ...env, ...dashboardEnv() }),
    ]);
    try {
      expect((await fetch(`http://127.0.0.1:${smtp.healthPort}/health/ready`)).status).toBe(200);
      const info = await transport({ port: smtp.smtpPort }).sendMail({
        from: 'billing@freeface.test',
        to: 'ana@example.com',
        subject: 'Through an smtp-only process',
        text: 'x',
      });
      await waitForStatus(QUEUED.exec(info.response)![1]!, 'sent');
      // One failed login and one refused message too (Redis restarted empty in the outage test above).
      const wrong = transport({ port: smtp.smtpPort, auth: { user: 'billing', pass: TOKENS.signup } });
      expect(
        (await refusal(wrong.sendMail({ from: 'a@freeface.test', to: 'ana@example.com', text: 'x' }))).code,
      ).toBe(535);
      const noSubject = { from: 'a@freeface.test', to: 'ana@example.com', subject: '', text: 'x' };
      expect((await refusal(transport({ port: smtp.smtpPort }).sendMail(noSubject))).code).toBe(554);
      const overview = (await fetch(`http://127.0.0.1:${monitor.healthPort}/api/overview`, {
        headers: { authorization: basicAuth(DASHBOARD.user, DASHBOARD.password) },
      }).then((r) => r.json())) as { smtpIngress: Record<string, number> };
      expect(overview.smtpIngress).toEqual({
        sessions: expect.any(Number),
        accepted: expect.any(Number),
        refused: expect.any(Number),
        authFailures: expect.any(Number),
      });
      for (const figure of ['sessions', 'accepted', 'refused', 'authFailures'])
        expect([figure, overview.smtpIngress[figure]! > 0]).toEqual([figure, true]);
    } finally {
      await Promise.all([smtp.stop(), monitor.stop()]);
    }
  });

  it('answers 421 to a session open at shutdown, and exits cleanly', async () => {
    const socket = await smtpSession(front.smtpPort);
    try {
      expect(await socket.command('EHLO client.test')).toMatch(/^250/);
      const stopped = front.stop('SIGTERM');
      // Closing begins by no longer taking connections; from then on a command is answered 421.
      await waitUntil(() => refusesConnections(front.smtpPort), 5_000, 'the SMTP port to refuse connections');
      expect(await socket.command('NOOP')).toMatch(/^421 /);
      expect(await stopped).toBe(0);
    } finally {
      socket.close();
    }
  });

  async function waitForStatus(id: string, status: string): Promise<Record<string, unknown>> {
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
});

/** Whether a new TCP connection to the port is refused (a connection that is taken is closed at once). */
function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** A bare SMTP session over a socket: one command, one reply. */
async function smtpSession(port: number): Promise<{ command(line: string): Promise<string>; close(): void }> {
  const socket: Socket = connect(port, '127.0.0.1');
  let buffer = '';
  let waiting: ((reply: string) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    // A reply is complete at a line whose code is followed by a space.
    const match = /(^|\n)(\d{3}) [^\n]*\n/.exec(buffer);
    if (match && waiting) {
      const reply = buffer;
      buffer = '';
      const done = waiting;
      waiting = undefined;
      done(reply);
    }
  });
  socket.on('close', () => waiting?.(buffer || 'closed'));
  const next = () => new Promise<string>((resolve) => (waiting = resolve));
  await next(); // the greeting
  return {
    command: (line: string) => {
      const reply = next();
      socket.write(`${line}\r\n`);
      return reply;
    },
    close: () => socket.destroy(),
  };
}
