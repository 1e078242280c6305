import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isWellFormedToken } from '../src/common/token-format';
import { EXAMPLE_TOKEN } from '../src/config/example-token';
import { AppProcess } from './support/app-process';
import { basicAuth, DASHBOARD, dashboardEnv } from './support/dashboard';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { freePort } from './support/ports';
import { PrivateRedis } from './support/private-redis';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

describe('start-up configuration', () => {
  it('refuses to start, naming every bad variable once and none of the bad values', async () => {
    const result = await AppProcess.run({
      APP_ROLE: 'api',
      PORT: 'eighty',
      REDIS_URL: 'http://redis.internal:6379',
      WORKER_CONCURRENCY: '0',
      LOG_FORMAT: 'xml',
      SMTP_SECURE: 'maybe',
      SERVICE_TOKEN_BILLING_PRIMARY: 'st_dev_hunter2-is-not-a-token',
      SERVICE_TOKEN_BILLING_SCOPES: 'send,superuser',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration:');
    for (const variable of [
      'PORT',
      'REDIS_URL',
      'WORKER_CONCURRENCY',
      'LOG_FORMAT',
      'SMTP_SECURE',
      'SERVICE_TOKEN_BILLING_PRIMARY',
      'SERVICE_TOKEN_BILLING_SCOPES',
    ]) {
      expect(result.stderr).toMatch(new RegExp(`^  - ${variable}: `, 'm'));
    }
    for (const value of ['eighty', 'redis.internal', 'hunter2', 'xml', 'maybe'])
      expect(result.stderr).not.toContain(value);
  });

  it('refuses an unknown role', async () => {
    const result = await AppProcess.run({ APP_ROLE: 'api,mailman' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('APP_ROLE: unknown role "mailman"');
  });

  it('reads a secret from <NAME>_FILE', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    writeFileSync(join(dir, 'token'), `${TOKENS.billing}\n`);
    const redis = await PrivateRedis.start();
    const { SERVICE_TOKEN_BILLING_PRIMARY: _unused, ...env } = baseEnv(redis);
    const app = await AppProcess.start({
      role: 'api',
      env: { ...env, SERVICE_TOKEN_BILLING_PRIMARY_FILE: join(dir, 'token') },
    });
    try {
      const response = await fetch(`${app.baseUrl}/api/v1/templates`, {
        headers: { authorization: `Bearer ${TOKENS.billing}` },
      });
      expect(response.status).toBe(200);
    } finally {
      await app.stop();
      await redis.stop();
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const redis = await PrivateRedis.start();
    const app = await AppProcess.start({ role: 'worker', env: baseEnv(redis) });
    expect(await app.stop('SIGTERM')).toBe(0);
    expect(app.logs().map((line) => line.msg)).toEqual(
      expect.arrayContaining(['shutting down', 'shut down cleanly']),
    );
    await redis.stop();
  });
});

/**
 * `node dist/main.js` with no ENVIRONMENT, as the image, Compose and Kubernetes start it: production, in which
 * every setting that would weaken security stops the process, and nothing is left open.
 */
describe('a bare start (no ENVIRONMENT) is production', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(() => redis?.stop());

  /** The tests' environment with ENVIRONMENT unset, as a bare start has it. */
  const bare = (extra: Record<string, string>) => ({ ...baseEnv(redis), ENVIRONMENT: undefined, ...extra });

  it('refuses auth off, the sample token, an open dashboard, plain SMTP AUTH and the public webhook key', async () => {
    const refusal = await AppProcess.start({
      role: 'all',
      env: bare({
        SERVICE_AUTH_ENABLED: 'false',
        SERVICE_TOKEN_EXAMPLE_PRIMARY: EXAMPLE_TOKEN,
        WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com',
      }),
    }).then(
      async (app) => {
        await app.stop();
        return 'it started';
      },
      (error: Error) => error.message,
    );
    for (const problem of [
      'SERVICE_AUTH_ENABLED: may be false only with ENVIRONMENT=development',
      'SERVICE_TOKEN_*: the sample token of .env.example is for development only',
      'DASHBOARD_USER, DASHBOARD_PASSWORD: are required outside development',
      'SMTP_INGRESS_TLS_CERT, SMTP_INGRESS_TLS_KEY: are required outside development',
      'WEBHOOK_SECRETS_KEY: is required outside development when WEBHOOK_ALLOWED_HOSTS is set',
    ])
      expect(refusal).toContain(`  - ${problem}`);
  });

  it('starts once configured, with the dashboard behind its sign-in and webhooks to allowed https hosts only', async () => {
    const monitorPort = await freePort();
    const app = await AppProcess.start({
      role: 'api,monitor',
      env: bare({ ...dashboardEnv(), MONITOR_PORT: String(monitorPort) }),
    });
    try {
      expect(app.logs().find((line) => line.msg === 'FreeFace started')).toMatchObject({
        environment: 'production',
      });
      const overview = `http://127.0.0.1:${monitorPort}/api/overview`;
      expect((await fetch(overview)).status).toBe(401);
      const signedIn = await fetch(overview, {
        headers: { authorization: basicAuth(DASHBOARD.user, DASHBOARD.password) },
      });
      expect(signedIn.status).toBe(200);

      const billing = client(app.baseUrl, TOKENS.billing);
      const webhook = (url: string) => billing.post('/api/v1/webhooks', { url, events: ['email.sent'] });
      expect((await webhook('https://hooks.example.com/freeface')).body).toMatchObject({
        status: 400,
        errors: [{ field: 'url', message: 'host hooks.example.com is not in WEBHOOK_ALLOWED_HOSTS' }],
      });
      expect((await webhook('http://hooks.example.com/freeface')).body).toMatchObject({
        status: 400,
        errors: [{ field: 'url', message: 'must be https outside development' }],
      });
    } finally {
      await app.stop();
    }
  });
});

describe('token generator', () => {
  const generate = (...args: string[]) =>
    run('npm', ['run', '--silent', 'token:generate', '--', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
    });

  it('prints one new token alone on a line', async () => {
    const { stdout } = await generate('--service', 'billing-api', '--env', 'live');
    expect(stdout).toMatch(/^st_live_[0-9A-Za-z]{33}\n$/);
    expect(isWellFormedToken(stdout.trim(), 'st_live_')).toBe(true);
  });

  it('prints an env line with --env-line', async () => {
    const { stdout } = await generate('--service', 'billing-api', '--env', 'dev', '--env-line');
    const [variable, token] = stdout.trim().split('=');
    expect(variable).toBe('SERVICE_TOKEN_BILLING_API_PRIMARY');
    expect(isWellFormedToken(token!, 'st_dev_')).toBe(true);
  });

  it('never prints the same token twice', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => generate('--service', 'x', '--env', 'dev')));
    expect(new Set(tokens.map((t) => t.stdout)).size).toBe(3);
  });

  it('refuses an unknown environment', async () => {
    await expect(generate('--service', 'x', '--env', 'prod')).rejects.toMatchObject({ code: 2 });
  });
});
