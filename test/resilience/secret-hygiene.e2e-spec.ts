import { TOKENS } from '../support/fixtures';
import {
  base64Cores,
  digestForms,
  dumpRedis,
  SecretScanner,
  type SecretFinding,
} from '../support/secret-scanner';
import { DASHBOARD_USER, hex, SECRETS, SMTP_USER, WRONG } from '../support/hygiene-secrets';
import { SecretHygieneRun } from '../support/secret-hygiene-run';

/**
 * Every secret FreeFace handles goes through a run of the app (SecretHygieneRun: every provider, careless
 * provider errors, refused tokens and logins, the chattiest logging); afterwards every log line of every
 * process, every HTTP response the run received (headers and bodies, the audit trail and /metrics included) and
 * every Redis key and value is searched for each secret in every simple encoding.
 */
describe('secret hygiene: no secret in logs, responses, the audit trail, metrics or Redis', () => {
  let run: SecretHygieneRun;

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

  beforeAll(async () => {
    run = await SecretHygieneRun.start();
    secrets.add('webhook signing secret', run.webhookSecret);
    secrets.add(
      'webhook signing key',
      Buffer.from(run.webhookSecret.slice('whsec_'.length), 'base64').toString('latin1'),
    );
  }, 180_000);

  afterAll(() => run?.stop());

  const processes = () => {
    const { api, worker, monitor, guarded } = run.processes;
    return { api, worker, monitor, 'rate-limited api': guarded };
  };
  const describeFinding = (f: SecretFinding) => `${f.secret} (${f.form}) in ${f.where}: ${f.context}`;

  function scanEverything(scanner: SecretScanner, dump = run.redisDump): SecretFinding[] {
    const findings: SecretFinding[] = [];
    for (const [name, app] of Object.entries(processes())) {
      findings.push(...scanner.scanLines(`${name} stdout`, app.stdout));
      findings.push(...scanner.scanLines(`${name} stderr`, app.stderr.join('').split('\n')));
    }
    for (const response of run.responses)
      findings.push(...scanner.scan(`response to ${response.where}`, response.text));
    for (const { key, type, text } of dump) {
      findings.push(...scanner.scan(`the name of Redis key ${key}`, key));
      findings.push(...scanner.scan(`Redis key ${key} (${type})`, text));
    }
    return findings;
  }

  it('has a scanner that finds a secret planted in a log line, a response and Redis (self-check)', async () => {
    // The places the real scan reads, each with a secret planted in a form it could leak in.
    const plantedKey = `${run.prefix}:planted:${hex(4)}`;
    await run.inspect.hset(
      plantedKey,
      'header',
      `Basic ${Buffer.from(`api:${SECRETS.mailgunApiKey}`).toString('base64')}`,
    );
    const authPlain = Buffer.from(`\u0000${SMTP_USER}\u0000${SECRETS.smtpPassword}`).toString('base64');
    run.processes.worker.stdout.push(
      JSON.stringify({ level: 'debug', context: 'smtp', msg: `C: AUTH PLAIN ${authPlain}` }),
    );
    run.responses.push({
      where: 'planted',
      text: `x-debug: ${encodeURIComponent(SECRETS.awsSecretAccessKey)}`,
    });
    try {
      const found = scanEverything(secrets, await dumpRedis(run.inspect));
      expect(new Set(found.map((f) => f.where))).toEqual(
        new Set([
          `Redis key ${plantedKey} (hash)`,
          `worker stdout line ${run.processes.worker.stdout.length}`,
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
      await run.inspect.del(plantedKey);
      run.processes.worker.stdout.pop();
      run.responses.pop();
    }
    expect(scanEverything(secrets, await dumpRedis(run.inspect)).map(describeFinding)).toEqual([]);
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
    const workerLogs = run.processes.worker.logs();
    const sentBy = new Set(workerLogs.filter((l) => l.msg === 'email sent').map((l) => l.provider));
    expect([...sentBy].sort()).toEqual(['mailgun', 'sendgrid', 'ses', 'smtp']);
    expect(workerLogs.some((l) => l.context === 'smtp' && /AUTH PLAIN/.test(String(l.msg)))).toBe(true);
    expect(workerLogs.filter((l) => l.msg === 'email dead: no more attempts').length).toBeGreaterThanOrEqual(
      4,
    );
    expect(
      run.processes.api.logs().filter((l) => l.msg === 'service token refused').length,
    ).toBeGreaterThanOrEqual(12);
    expect(run.processes.monitor.logs().filter((l) => l.msg === 'dashboard login failed')).toHaveLength(4);
    const hookTypes = new Set(run.receiver.received.map((hook) => hook.json.type));
    expect([...hookTypes].sort()).toEqual(expect.arrayContaining(['email.dead', 'email.sent']));
  });

  it('shows a careless provider’s reason with the echoed credentials cut out', () => {
    expect(run.echoed).toHaveLength(6);
    for (const { lastError } of run.echoed) expect(lastError).toMatch(/\[(REDACTED|redacted)\]/);
  });

  it('finds no secret in any log line, HTTP response, audit entry, /metrics or Redis key', () => {
    const findings = scanEverything(secrets);
    const lines = Object.values(processes()).reduce((sum, app) => sum + app.stdout.length, 0);
    const bytes = (texts: string[]) => texts.reduce((sum, text) => sum + text.length, 0);
    process.stdout.write(
      `secret-hygiene: ${secrets.size} secrets (${secrets.needleCount} forms) looked for in ${lines} log lines ` +
        `of ${Object.keys(processes()).length} processes, ${run.responses.length} HTTP responses ` +
        `(${Math.round(bytes(run.responses.map((r) => r.text)) / 1024)} KB) and ${run.redisDump.length} Redis keys ` +
        `(${Math.round(bytes(run.redisDump.map((k) => k.key + k.text)) / 1024)} KB): ${findings.length} found\n`,
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
      expect(run.responses.some((r) => r.where.includes(kind))).toBe(true);
    expect(new Set(run.redisDump.map((k) => k.type))).toEqual(
      new Set(['string', 'hash', 'list', 'set', 'zset', 'stream']),
    );
  });
});
