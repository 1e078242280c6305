import 'reflect-metadata';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateToken } from '../common/token-format';
import { EXAMPLE_TOKEN } from './example-token';
import { ConfigError, loadConfig, resolveEnv } from './load-config';
import type { Role } from './roles';

type Env = Record<string, string | undefined>;

const ALL_ROLES: ReadonlySet<Role> = new Set(['api', 'worker', 'monitor', 'smtp']);
const WORKER_ONLY: ReadonlySet<Role> = new Set(['worker']);
const sha256 = (text: string) => createHash('sha256').update(text).digest();

let dir: string;
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'load-config-spec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const token = generateToken('dev');
/**
 * The smallest valid development environment; LOG_CONFIG points at an empty file so the repo's config/ does
 * not leak in.
 */
const base = (extra: Env = {}): Env => ({
  ENVIRONMENT: 'development',
  LOG_CONFIG: file('empty-logging.yaml', ''),
  SERVICE_TOKEN_BILLING_API_PRIMARY: token,
  ...extra,
});
/** PEM files of the kinds the SMTP ingress's STARTTLS takes (their content is not checked here). */
const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const production = (extra: Env = {}): Env =>
  base({
    ENVIRONMENT: 'production',
    EMAIL_FROM: 'noreply@example.com',
    DASHBOARD_USER: 'ops',
    DASHBOARD_PASSWORD: 'dashboard-pass',
    SMTP_INGRESS_TLS_CERT: file('smtp-cert.pem', PEM_CERT),
    SMTP_INGRESS_TLS_KEY: file('smtp-key.pem', PEM_KEY),
    ...extra,
  });

function configError(env: Env, roles: ReadonlySet<Role> = ALL_ROLES): ConfigError {
  try {
    loadConfig(env, roles);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}
const problemsOf = (env: Env, roles?: ReadonlySet<Role>) => [...configError(env, roles).problems];

describe('loadConfig defaults', () => {
  it('fills every setting from its documented default', () => {
    const config = loadConfig(base(), ALL_ROLES);
    expect(config).toEqual({
      environment: 'development',
      roles: ALL_ROLES,
      http: {
        port: 3000,
        workerHealthPort: 3001,
        monitorPort: 8011,
        maxBodyBytes: 10 * 1024 * 1024,
        trustProxy: false,
      },
      redis: {
        topology: { mode: 'single', url: 'redis://localhost:6379' },
        keyPrefix: '{freeface}',
        partitions: 1,
        waitReplicas: 0,
      },
      logging: { level: 'debug', levels: {}, format: 'json', secrets: [] },
      auth: {
        enabled: true,
        tokenPrefix: 'st_dev_',
        services: [
          {
            service: 'billing-api',
            tokenDigests: [sha256(token)],
            scopes: new Set(['send', 'read']),
            dailyByteQuota: 1024 ** 3,
          },
        ],
      },
      rateLimits: {
        authFailures: { maxFailures: 10, windowMs: 60_000, text: '10/m' },
        dailyByteQuota: 1024 ** 3,
      },
      email: {
        from: { email: 'noreply@example.com', name: 'FreeFace' },
        maxScheduleDays: 30,
        retentionDays: 7,
        idempotencyTtlHours: 24,
        auditRetentionDays: 30,
        suppressionTtlDays: 0,
        maxDataBytes: 64 * 1024,
      },
      providerEvents: {
        sesTopicArns: [],
        snsCertUrlPattern: String.raw`^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`,
        maxBodyBytes: 1024 * 1024,
        rateLimit: { tokensPerMs: 0.1, burst: 100, text: '100/s' },
      },
      providers: {
        primary: 'smtp',
        fallbacks: [],
        enabled: ['smtp'],
        rateLimits: {},
        circuit: { failureThreshold: 5, cooldownMs: 30_000 },
      },
      smtp: { host: 'localhost', port: 587, secure: false, requireTls: false, poolSize: 5 },
      delivery: {
        concurrency: 3,
        maxAttempts: 3,
        retryBackoffMs: 2000,
        jobLockMs: 30_000,
        pinnedProviderWaitMs: 300_000,
      },
      reconciler: { intervalMs: 60_000, staleMs: 300_000 },
      templates: { dir: resolve('templates') },
      smtpIngress: { port: 2525, healthPort: 3002 },
      webhooks: {
        targets: { allowedHosts: [], emptyAllowsAny: true, requireHttps: false },
        retryDelaysMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        secretsKey: 'freeface-development-webhook-secrets-key (not secret)',
        secretsKeyIsDevelopmentKey: true,
        concurrency: 50,
        endpointConcurrency: 2,
        pauseAfterTimeouts: 10,
      },
      dashboard: {},
      metrics: { requireAuth: true },
      shutdownTimeoutMs: 25_000,
    });
  });

  it('reads numbers, booleans and strings from their variables', () => {
    const config = loadConfig(
      base({
        PORT: '8080',
        REDIS_URL: 'rediss://cache.internal:6380/2',
        QUEUE_PREFIX: '{mail}',
        SMTP_HOST: 'smtp.example.com',
        SMTP_PORT: '465',
        SMTP_SECURE: 'yes',
        SMTP_POOL_SIZE: '10',
        WORKER_CONCURRENCY: '8',
        MAX_ATTEMPTS: '5',
        RETRY_BACKOFF_MS: '500',
        MAX_SCHEDULE_DAYS: '7',
        TEMPLATES_DIR: '/srv/templates',
        SHUTDOWN_TIMEOUT_MS: '1000',
        LOG_FORMAT: 'pretty',
      }),
      ALL_ROLES,
    );
    expect(config.http.port).toBe(8080);
    expect(config.redis).toEqual({
      topology: { mode: 'single', url: 'rediss://cache.internal:6380/2' },
      keyPrefix: '{mail}',
      partitions: 1,
      waitReplicas: 0,
    });
    expect(config.smtp).toEqual({
      host: 'smtp.example.com',
      port: 465,
      secure: true,
      requireTls: false,
      poolSize: 10,
    });
    expect(config.delivery).toEqual({
      concurrency: 8,
      maxAttempts: 5,
      retryBackoffMs: 500,
      jobLockMs: 30_000,
      pinnedProviderWaitMs: 300_000,
    });
    expect(config.email.maxScheduleDays).toBe(7);
    expect(config.templates.dir).toBe('/srv/templates');
    expect(config.shutdownTimeoutMs).toBe(1000);
    expect(config.logging.format).toBe('pretty');
  });

  it('reads the reconciler and the pinned-provider wait, and names values out of range', () => {
    const config = loadConfig(
      base({ RECONCILER_INTERVAL_MS: '500', RECONCILER_STALE_MS: '2000', PINNED_PROVIDER_WAIT_MS: '0' }),
      ALL_ROLES,
    );
    expect(config.reconciler).toEqual({ intervalMs: 500, staleMs: 2000 });
    expect(config.delivery.pinnedProviderWaitMs).toBe(0);
    const error = configError(
      base({ RECONCILER_INTERVAL_MS: '10', RECONCILER_STALE_MS: 'soon', PINNED_PROVIDER_WAIT_MS: '-1' }),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^PINNED_PROVIDER_WAIT_MS: /),
      expect.stringMatching(/^RECONCILER_INTERVAL_MS: /),
      expect.stringMatching(/^RECONCILER_STALE_MS: /),
    ]);
  });

  it('spreads emails over up to 64 partitions, and on a cluster wants a hash tag in QUEUE_PREFIX', () => {
    expect(loadConfig(base({ REDIS_PARTITIONS: '6' }), ALL_ROLES).redis.partitions).toBe(6);
    expect(problemsOf(base({ REDIS_PARTITIONS: '65' }))).toEqual([
      expect.stringMatching(/^REDIS_PARTITIONS: /),
    ]);
    const cluster = { REDIS_URL: '', REDIS_CLUSTER_NODES: 'n1:6379,n2:6379' };
    expect(loadConfig(base({ ...cluster, REDIS_PARTITIONS: '6' }), ALL_ROLES).redis.keyPrefix).toBe(
      '{freeface}',
    );
    expect(problemsOf(base({ ...cluster, QUEUE_PREFIX: '{}x{freeface}' }))).toHaveLength(1);
    expect(problemsOf(base({ ...cluster, QUEUE_PREFIX: 'freeface' }))).toEqual([
      expect.stringMatching(/^QUEUE_PREFIX: on a cluster it must hold a hash tag/),
    ]);
  });

  it('treats an empty value as unset', () => {
    const config = loadConfig(base({ PORT: '', SMTP_SECURE: '', EMAIL_FROM: '' }), ALL_ROLES);
    expect(config.http.port).toBe(3000);
    expect(config.smtp.secure).toBe(false);
    expect(config.email.from).toEqual({ email: 'noreply@example.com', name: 'FreeFace' });
  });

  it('is production when ENVIRONMENT is unset or empty, with every guard on', () => {
    for (const ENVIRONMENT of [undefined, '']) {
      const env = { ...production(), ENVIRONMENT };
      const config = loadConfig(env, ALL_ROLES);
      expect(config.environment).toBe('production');
      expect(config.smtp.requireTls).toBe(true);
      expect(config.webhooks.targets).toEqual({
        allowedHosts: [],
        emptyAllowsAny: false,
        requireHttps: true,
      });
      expect(problemsOf({ ...env, SERVICE_AUTH_ENABLED: 'false' })).toEqual([
        'SERVICE_AUTH_ENABLED: may be false only with ENVIRONMENT=development',
      ]);
      expect(problemsOf({ ...env, DASHBOARD_USER: undefined, DASHBOARD_PASSWORD: undefined })).toEqual([
        expect.stringMatching(/^DASHBOARD_USER, DASHBOARD_PASSWORD: are required outside development/),
      ]);
    }
  });

  it('requires STARTTLS for outbound SMTP outside development unless SMTP_REQUIRE_TLS turns it off', () => {
    expect(loadConfig(base(), ALL_ROLES).smtp.requireTls).toBe(false);
    expect(loadConfig(base({ SMTP_REQUIRE_TLS: 'true' }), ALL_ROLES).smtp.requireTls).toBe(true);
    for (const environment of ['production', 'staging']) {
      expect(loadConfig(production({ ENVIRONMENT: environment }), ALL_ROLES).smtp.requireTls).toBe(true);
      const off = loadConfig(production({ ENVIRONMENT: environment, SMTP_REQUIRE_TLS: 'false' }), ALL_ROLES);
      expect(off.smtp.requireTls).toBe(false);
    }
    expect(problemsOf(base({ SMTP_REQUIRE_TLS: 'sometimes' }))).toEqual([
      'SMTP_REQUIRE_TLS: must be true or false',
    ]);
  });

  it('reads the SES configuration set, and refuses a name SES would not take', () => {
    const ses = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'secret' };
    const config = loadConfig(base({ ...ses, SES_CONFIGURATION_SET: 'freeface-events_1' }), ALL_ROLES);
    expect(config.providers.ses?.configurationSet).toBe('freeface-events_1');
    expect(loadConfig(base(ses), ALL_ROLES).providers.ses).not.toHaveProperty('configurationSet');
    for (const name of ['has space', 'x'.repeat(65), 'dots.are.not.allowed'])
      expect(problemsOf(base({ ...ses, SES_CONFIGURATION_SET: name }))).toEqual([
        'SES_CONFIGURATION_SET: must be an SES configuration set name (1-64 letters, digits, _ and -)',
      ]);
  });

  it('uses debug as the default log level in development and info elsewhere', () => {
    expect(loadConfig(base(), ALL_ROLES).logging.level).toBe('debug');
    expect(loadConfig(production({ ENVIRONMENT: 'staging' }), ALL_ROLES).logging.level).toBe('info');
    expect(loadConfig(production(), ALL_ROLES).logging.level).toBe('info');
    expect(loadConfig(base({ LOG_LEVEL: 'warn' }), ALL_ROLES).logging.level).toBe('warn');
  });

  it('returns a deeply frozen configuration', () => {
    const config = loadConfig(base(), ALL_ROLES);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
    expect(Object.isFrozen(config.auth.services[0])).toBe(true);
  });
});

describe('loadConfig errors', () => {
  it('names every bad variable in one ConfigError', () => {
    const error = configError(
      base({
        ENVIRONMENT: 'prod',
        PORT: '99999',
        REDIS_URL: 'http://cache:6379',
        LOG_LEVEL: 'loud',
        SERVICE_AUTH_ENABLED: 'maybe',
        SMTP_SECURE: 'sometimes',
        MAX_ATTEMPTS: '0',
      }),
      // An api alone: an unknown ENVIRONMENT is not development, so a monitor or smtp role would be named too.
      new Set<Role>(['api']),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toEqual([
      'ENVIRONMENT: must be one of the following values: development, staging, production',
      'PORT: must not be greater than 65535',
      'LOG_LEVEL: must be one of the following values: trace, debug, info, warn, error, fatal, silent',
      'SERVICE_AUTH_ENABLED: must be true or false',
      'SMTP_SECURE: must be true or false',
      'MAX_ATTEMPTS: must not be less than 1',
      'REDIS_URL: must be a redis:// or rediss:// URL',
    ]);
    expect(error.message).toBe(`Invalid configuration:\n${error.problems.map((p) => `  - ${p}`).join('\n')}`);
  });

  it('says what a non-number is expected to be', () => {
    const [problem] = problemsOf(base({ WORKER_CONCURRENCY: 'many' }));
    expect(problem).toMatch(/^WORKER_CONCURRENCY: /);
    expect(problem).toContain('must be an integer number');
  });

  it('never puts the bad value in the error', () => {
    const secretish = 'hunter2-do-not-print';
    const error = configError(
      base({
        PORT: `${secretish}`,
        REDIS_URL: `http://user:${secretish}@cache`,
        SERVICE_AUTH_ENABLED: secretish,
        SMTP_PORT: secretish,
        EMAIL_FROM: `${secretish} at example`,
        SERVICE_TOKEN_CRM_PRIMARY: `st_dev_${secretish}`,
        SERVICE_TOKEN_OPS_SECONDARY: token,
      }),
    );
    expect(error.problems).toHaveLength(7);
    expect(error.message).not.toContain(secretish);
    expect(error.message).not.toContain(token);
  });

  it('requires SMTP_PASSWORD when SMTP_USER is set', () => {
    expect(problemsOf(base({ SMTP_USER: 'mailer' }))).toEqual([
      'SMTP_PASSWORD: is required when SMTP_USER is set',
    ]);
  });

  it('refuses an unknown EMAIL_PROVIDER, listing the available ones', () => {
    expect(problemsOf(base({ EMAIL_PROVIDER: 'postmark' }))).toEqual([
      'EMAIL_PROVIDER: must be one of: smtp, sendgrid, mailgun, ses',
    ]);
  });
});

describe('loadConfig secrets from <NAME>_FILE', () => {
  it('reads a secret from the file that <NAME>_FILE names, without its trailing newline', () => {
    const config = loadConfig(
      base({ SMTP_USER: 'mailer', SMTP_PASSWORD_FILE: file('smtp-password', 's3cret-pass\n') }),
      ALL_ROLES,
    );
    expect(config.smtp.password).toBe('s3cret-pass');
    expect(config.logging.secrets).toEqual(['s3cret-pass']);
  });

  it('strips a Windows line ending from the file', () => {
    const config = loadConfig(
      base({ SMTP_USER: 'mailer', SMTP_PASSWORD_FILE: file('smtp-password-crlf', 'crlf-pass\r\n') }),
      ALL_ROLES,
    );
    expect(config.smtp.password).toBe('crlf-pass');
  });

  it('reads a service token from SERVICE_TOKEN_<NAME>_PRIMARY_FILE', () => {
    const crm = generateToken('dev');
    const config = loadConfig(
      base({
        SERVICE_TOKEN_BILLING_API_PRIMARY: undefined,
        SERVICE_TOKEN_CRM_PRIMARY_FILE: file('crm-token', `${crm}\n`),
      }),
      ALL_ROLES,
    );
    expect(config.auth.services).toEqual([
      {
        service: 'crm',
        tokenDigests: [sha256(crm)],
        scopes: new Set(['send', 'read']),
        dailyByteQuota: 1024 ** 3,
      },
    ]);
  });

  it('refuses a variable set both directly and as _FILE', () => {
    expect(
      problemsOf(
        base({ SMTP_USER: 'mailer', SMTP_PASSWORD: 'inline', SMTP_PASSWORD_FILE: file('pw', 'from-file') }),
      ),
    ).toEqual(['SMTP_PASSWORD_FILE: set either SMTP_PASSWORD or SMTP_PASSWORD_FILE, not both']);
  });

  it('refuses a _FILE that cannot be read', () => {
    const missing = join(dir, 'does-not-exist');
    expect(problemsOf(base({ SMTP_USER: 'mailer', SMTP_PASSWORD_FILE: missing }))).toEqual([
      'SMTP_PASSWORD_FILE: cannot read the file it names',
      'SMTP_PASSWORD: is required when SMTP_USER is set',
    ]);
  });

  it('ignores *_FILE variables that are not part of the contract', () => {
    const config = loadConfig(
      base({ FOO_FILE: join(dir, 'does-not-exist'), NODE_EXTRA_CA_CERTS_FILE: '/nope', FOO: 'x' }),
      ALL_ROLES,
    );
    expect(config.http.port).toBe(3000);
  });

  it('ignores an empty _FILE variable', () => {
    const config = loadConfig(base({ SMTP_PASSWORD_FILE: '' }), ALL_ROLES);
    expect(config.smtp.password).toBeUndefined();
  });
});

describe('resolveEnv', () => {
  it('replaces <NAME>_FILE by <NAME> with the content read through the injected reader', () => {
    const errors: string[] = [];
    const reads: string[] = [];
    const resolved = resolveEnv({ SMTP_PASSWORD_FILE: '/run/secrets/smtp', PORT: '25' }, errors, ((
      path: string,
    ) => {
      reads.push(path);
      return 'from-file\n';
    }) as never);
    expect(errors).toEqual([]);
    expect(reads).toEqual(['/run/secrets/smtp']);
    expect(resolved).toEqual({ SMTP_PASSWORD: 'from-file', PORT: '25' });
  });

  it('strips only one trailing line break', () => {
    const resolved = resolveEnv({ SMTP_PASSWORD_FILE: '/x' }, [], (() => 'two\n\n') as never);
    expect(resolved).toEqual({ SMTP_PASSWORD: 'two\n' });
  });

  it('drops empty values', () => {
    expect(resolveEnv({ PORT: '', HOST: undefined, A: 'b' }, [])).toEqual({ A: 'b' });
  });
});

describe('loadConfig service tokens', () => {
  it('names the service after the variable: BILLING_API is billing-api', () => {
    const config = loadConfig(base(), ALL_ROLES);
    expect(config.auth.services.map((s) => s.service)).toEqual(['billing-api']);
  });

  it('reads SCOPES as a comma list', () => {
    const config = loadConfig(base({ SERVICE_TOKEN_BILLING_API_SCOPES: 'send,admin' }), ALL_ROLES);
    expect(config.auth.services[0]!.scopes).toEqual(new Set(['send', 'admin']));
  });

  it('reports token problems together with other variables', () => {
    expect(
      problemsOf(
        base({
          PORT: '0',
          SERVICE_TOKEN_BILLING_API_SECONDARY: token,
          SERVICE_TOKEN_CRM_SECONDARY: generateToken('dev'),
          SERVICE_TOKEN_OPS_PRIMARY: 'st_dev_short',
          SERVICE_TOKEN_OPS_SCOPES: 'superuser',
        }),
      ),
    ).toEqual([
      'PORT: must not be less than 1',
      'SERVICE_TOKEN_BILLING_API_SECONDARY: the same token is already configured as SERVICE_TOKEN_BILLING_API_PRIMARY',
      'SERVICE_TOKEN_CRM_PRIMARY: is required when other SERVICE_TOKEN_CRM_* variables are set',
      'SERVICE_TOKEN_OPS_PRIMARY: must be a well-formed st_dev_ token with a valid checksum (npm run token:generate)',
      'SERVICE_TOKEN_OPS_SCOPES: unknown scope "superuser"; expected a comma list of send, read, admin',
    ]);
  });

  it('checks tokens against SERVICE_TOKEN_PREFIX', () => {
    const live = generateToken('live');
    expect(
      loadConfig(
        base({ SERVICE_TOKEN_PREFIX: 'st_live_', SERVICE_TOKEN_BILLING_API_PRIMARY: live }),
        ALL_ROLES,
      ).auth.tokenPrefix,
    ).toBe('st_live_');
    expect(problemsOf(base({ SERVICE_TOKEN_PREFIX: 'st_live_' }))).toEqual([
      'SERVICE_TOKEN_BILLING_API_PRIMARY: must be a well-formed st_live_ token with a valid checksum (npm run token:generate)',
    ]);
  });

  it('refuses a SERVICE_TOKEN_PREFIX other than st_dev_ or st_live_, and reports nothing else about tokens', () => {
    expect(problemsOf(base({ SERVICE_TOKEN_PREFIX: 'xyz_' }))).toEqual([
      'SERVICE_TOKEN_PREFIX: must be st_dev_ or st_live_',
    ]);
  });

  it('refuses to start an api with auth on and no token at all', () => {
    expect(problemsOf({ ENVIRONMENT: 'development', LOG_CONFIG: file('empty.yaml', '') })).toEqual([
      'SERVICE_TOKEN_<NAME>_PRIMARY: no service token is configured, so no caller could use the API ' +
        '(generate one with npm run token:generate, or set SERVICE_AUTH_ENABLED=false in development)',
    ]);
  });

  it('starts a worker without any service token', () => {
    const config = loadConfig(
      { ENVIRONMENT: 'development', LOG_CONFIG: file('empty.yaml', '') },
      WORKER_ONLY,
    );
    expect(config.auth.services).toEqual([]);
    expect(config.roles).toBe(WORKER_ONLY);
  });

  it('allows SERVICE_AUTH_ENABLED=false in development, with no token needed', () => {
    const config = loadConfig(
      { ENVIRONMENT: 'development', LOG_CONFIG: file('empty.yaml', ''), SERVICE_AUTH_ENABLED: 'false' },
      ALL_ROLES,
    );
    expect(config.auth.enabled).toBe(false);
  });

  it.each(['production', 'staging'])('refuses SERVICE_AUTH_ENABLED=false in %s', (environment) => {
    expect(problemsOf(production({ ENVIRONMENT: environment, SERVICE_AUTH_ENABLED: 'false' }))).toEqual([
      'SERVICE_AUTH_ENABLED: may be false only with ENVIRONMENT=development',
    ]);
  });

  it.each(['production', 'staging'])('refuses the example token of .env.example in %s', (environment) => {
    expect(
      problemsOf(production({ ENVIRONMENT: environment, SERVICE_TOKEN_EXAMPLE_PRIMARY: EXAMPLE_TOKEN })),
    ).toEqual(['SERVICE_TOKEN_*: the sample token of .env.example is for development only']);
  });

  it('refuses the example token in production even with surrounding whitespace', () => {
    expect(problemsOf(production({ SERVICE_TOKEN_EXAMPLE_PRIMARY: ` ${EXAMPLE_TOKEN}\n` }))).toEqual([
      'SERVICE_TOKEN_*: the sample token of .env.example is for development only',
    ]);
  });

  it('accepts the example token in development', () => {
    const config = loadConfig(base({ SERVICE_TOKEN_EXAMPLE_PRIMARY: EXAMPLE_TOKEN }), ALL_ROLES);
    expect(config.auth.services.map((s) => s.service)).toEqual(['billing-api', 'example']);
  });
});

describe('loadConfig request limits', () => {
  it('leaves every service unlimited but for 1 GiB stored a day, and slows failed authentication at 10/m by default', () => {
    const config = loadConfig(base(), ALL_ROLES);
    expect(config.rateLimits).toEqual({
      authFailures: { maxFailures: 10, windowMs: 60_000, text: '10/m' },
      dailyByteQuota: 1024 ** 3,
    });
    expect(config.auth.services[0]!.rateLimit).toBeUndefined();
    expect(config.auth.services[0]!.dailyQuota).toBeUndefined();
    expect(config.auth.services[0]!.dailyByteQuota).toBe(1024 ** 3);
    expect(config.email.maxDataBytes).toBe(65_536);
    expect(config.http.trustProxy).toBe(false);
  });

  it('gives DAILY_BYTE_QUOTA to every service without its own, and to nobody that says unlimited', () => {
    const crm = generateToken('dev');
    const ops = generateToken('dev');
    const config = loadConfig(
      base({
        DAILY_BYTE_QUOTA: '500000000',
        SERVICE_TOKEN_CRM_PRIMARY: crm,
        SERVICE_TOKEN_CRM_DAILY_BYTE_QUOTA: '2000000000',
        SERVICE_TOKEN_OPS_PRIMARY: ops,
        SERVICE_TOKEN_OPS_DAILY_BYTE_QUOTA: 'unlimited',
      }),
      ALL_ROLES,
    );
    expect(config.rateLimits.dailyByteQuota).toBe(500_000_000);
    expect(Object.fromEntries(config.auth.services.map((s) => [s.service, s.dailyByteQuota]))).toEqual({
      'billing-api': 500_000_000,
      crm: 2_000_000_000,
      ops: undefined,
    });
    const unlimited = loadConfig(base({ DAILY_BYTE_QUOTA: 'unlimited' }), ALL_ROLES);
    expect(unlimited.rateLimits.dailyByteQuota).toBeUndefined();
    expect(unlimited.auth.services[0]!.dailyByteQuota).toBeUndefined();
  });

  it('reads MAX_DATA_BYTES between 1 KiB and 10 MiB', () => {
    expect(loadConfig(base({ MAX_DATA_BYTES: '1048576' }), ALL_ROLES).email.maxDataBytes).toBe(1_048_576);
    expect(problemsOf(base({ MAX_DATA_BYTES: '512' }))).toEqual([
      'MAX_DATA_BYTES: must not be less than 1024',
    ]);
    expect(problemsOf(base({ MAX_DATA_BYTES: '64k' }))).toEqual([
      expect.stringMatching(/^MAX_DATA_BYTES: .*must be an integer number$/),
    ]);
  });

  it('gives API_RATE_LIMIT to every service without its own, and to nobody that says unlimited', () => {
    const crm = generateToken('dev');
    const ops = generateToken('dev');
    const config = loadConfig(
      base({
        API_RATE_LIMIT: '6000/m',
        SERVICE_TOKEN_CRM_PRIMARY: crm,
        SERVICE_TOKEN_CRM_RATE_LIMIT: '50/s',
        SERVICE_TOKEN_OPS_PRIMARY: ops,
        SERVICE_TOKEN_OPS_RATE_LIMIT: 'unlimited',
      }),
      ALL_ROLES,
    );
    expect(config.rateLimits.api).toEqual({ tokensPerMs: 0.1, burst: 6000, text: '6000/m' });
    expect(Object.fromEntries(config.auth.services.map((s) => [s.service, s.rateLimit?.text]))).toEqual({
      'billing-api': '6000/m',
      crm: '50/s',
      ops: undefined,
    });
  });

  it('reads a daily quota per service', () => {
    const config = loadConfig(base({ SERVICE_TOKEN_BILLING_API_DAILY_QUOTA: '5000' }), ALL_ROLES);
    expect(config.auth.services[0]!.dailyQuota).toBe(5000);
  });

  it('reads AUTH_FAILURE_LIMIT, off included', () => {
    expect(loadConfig(base({ AUTH_FAILURE_LIMIT: '100/h' }), ALL_ROLES).rateLimits.authFailures).toEqual({
      maxFailures: 100,
      windowMs: 3_600_000,
      text: '100/h',
    });
    expect(
      loadConfig(base({ AUTH_FAILURE_LIMIT: 'off' }), ALL_ROLES).rateLimits.authFailures,
    ).toBeUndefined();
  });

  it('reads the provider callbacks’ own body limit and rate limit, unlimited included, and refuses bad ones', () => {
    const config = loadConfig(
      base({ PROVIDER_CALLBACK_MAX_BODY_BYTES: '262144', PROVIDER_CALLBACK_RATE_LIMIT: '600/m' }),
      ALL_ROLES,
    );
    expect(config.providerEvents).toMatchObject({
      maxBodyBytes: 262_144,
      rateLimit: { tokensPerMs: 0.01, burst: 600, text: '600/m' },
    });
    expect(
      loadConfig(base({ PROVIDER_CALLBACK_RATE_LIMIT: 'unlimited' }), ALL_ROLES).providerEvents.rateLimit,
    ).toBeUndefined();
    expect(
      problemsOf(base({ PROVIDER_CALLBACK_MAX_BODY_BYTES: '1000', PROVIDER_CALLBACK_RATE_LIMIT: 'lots' })),
    ).toEqual([
      expect.stringMatching(/^PROVIDER_CALLBACK_MAX_BODY_BYTES: /),
      'PROVIDER_CALLBACK_RATE_LIMIT: must look like 50/s, 600/m or 5000/h, or be unlimited',
    ]);
  });

  it("reads TRUST_PROXY as false or the proxies' own addresses, and refuses values that trust everyone", () => {
    expect(loadConfig(base({ TRUST_PROXY: '10.0.3.0/28, loopback' }), ALL_ROLES).http.trustProxy).toBe(
      '10.0.3.0/28,loopback',
    );
    expect(problemsOf(base({ TRUST_PROXY: 'uniquelocal' }))).toEqual([
      'TRUST_PROXY: uniquelocal would trust every client in a private range (10/8, 172.16/12, 192.168/16, ' +
        "fc00::/7), so any of them could choose its address through X-Forwarded-For: name the proxies' own " +
        'addresses or CIDRs instead (e.g. 10.0.3.7,10.0.3.0/28), or false',
    ]);
    expect(problemsOf(base({ TRUST_PROXY: 'true' }))).toEqual([
      expect.stringMatching(/^TRUST_PROXY: true would trust every client, so any of them could choose/),
    ]);
  });

  it('names every bad limit variable', () => {
    expect(
      problemsOf(
        base({
          API_RATE_LIMIT: 'fast',
          AUTH_FAILURE_LIMIT: '2.5/m',
          TRUST_PROXY: '2',
          SERVICE_TOKEN_BILLING_API_RATE_LIMIT: '10/d',
          SERVICE_TOKEN_BILLING_API_DAILY_QUOTA: '0',
          SERVICE_TOKEN_BILLING_API_DAILY_BYTE_QUOTA: '1GB',
          DAILY_BYTE_QUOTA: '-1',
        }),
      ),
    ).toEqual([
      'API_RATE_LIMIT: must look like 50/s, 600/m or 5000/h, or be unlimited',
      'DAILY_BYTE_QUOTA: must be a whole number of bytes of at least 1, or unlimited',
      'AUTH_FAILURE_LIMIT: must look like 10/m (a whole number per s, m or h), or be off',
      "TRUST_PROXY: must be false or a comma list of the proxies' own addresses or CIDRs (e.g. 10.0.3.7,10.0.3.0/28,loopback)",
      'SERVICE_TOKEN_BILLING_API_RATE_LIMIT: must look like 50/s, 600/m or 5000/h, or be unlimited',
      'SERVICE_TOKEN_BILLING_API_DAILY_QUOTA: must be a whole number of emails of at least 1',
      'SERVICE_TOKEN_BILLING_API_DAILY_BYTE_QUOTA: must be a whole number of bytes of at least 1, or unlimited',
    ]);
  });

  it('reads a service limit from SERVICE_TOKEN_<NAME>_RATE_LIMIT_FILE like the tokens', () => {
    const config = loadConfig(
      base({ SERVICE_TOKEN_BILLING_API_RATE_LIMIT_FILE: file('billing-rate', '20/s\n') }),
      ALL_ROLES,
    );
    expect(config.auth.services[0]!.rateLimit?.text).toBe('20/s');
  });
});

describe('loadConfig dashboard and metrics', () => {
  it('keeps the dashboard credentials and treats the password as a secret', () => {
    const config = loadConfig(base({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'a-long-pass' }), ALL_ROLES);
    expect(config.dashboard.credentials).toEqual({ user: 'ops', password: 'a-long-pass' });
    expect(config.logging.secrets).toContain('a-long-pass');
  });

  it('refuses a dashboard user without a password, and a short password', () => {
    const problem = 'DASHBOARD_PASSWORD: is required when DASHBOARD_USER is set, at least 8 characters';
    expect(problemsOf(base({ DASHBOARD_USER: 'ops' }))).toEqual([problem]);
    expect(problemsOf(base({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'short' }))).toEqual([problem]);
  });

  it.each(['production', 'staging'])(
    'refuses a %s monitor without dashboard credentials, but not an api alone',
    (environment) => {
      const env = production({
        ENVIRONMENT: environment,
        DASHBOARD_USER: undefined,
        DASHBOARD_PASSWORD: undefined,
      });
      expect(problemsOf(env)).toEqual([
        'DASHBOARD_USER, DASHBOARD_PASSWORD: are required outside development (the dashboard can retry mail)',
      ]);
      expect(loadConfig(env, new Set<Role>(['api'])).dashboard).toEqual({});
    },
  );

  it('reads METRICS_AUTH', () => {
    expect(loadConfig(base({ METRICS_AUTH: 'false' }), ALL_ROLES).metrics.requireAuth).toBe(false);
  });
});

describe('loadConfig provider callbacks', () => {
  const sendgridKey = () =>
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
  const topic = 'arn:aws:sns:eu-west-1:123456789012:ses-events';

  it('reads the SendGrid verification key, the SES topics and the SNS certificate URL pattern', () => {
    const key = sendgridKey();
    const config = loadConfig(
      base({
        SENDGRID_WEBHOOK_PUBLIC_KEY: key,
        SES_SNS_TOPIC_ARNS: ` ${topic}, arn:aws-cn:sns:cn-north-1:123456789012:other`,
        SNS_CERT_URL_PATTERN: '^http://127\\.0\\.0\\.1:8080/',
      }),
      ALL_ROLES,
    );
    expect(config.providerEvents.sendgridPublicKey?.asymmetricKeyType).toBe('ec');
    expect(config.providerEvents).toEqual({
      sendgridPublicKey: expect.anything(),
      sesTopicArns: [topic, 'arn:aws-cn:sns:cn-north-1:123456789012:other'],
      snsCertUrlPattern: '^http://127\\.0\\.0\\.1:8080/',
      maxBodyBytes: 1024 * 1024,
      rateLimit: { tokensPerMs: 0.1, burst: 100, text: '100/s' },
    });
  });

  it('names a key that is not an ECDSA P-256 key, a list with a non-ARN, and a pattern that does not compile', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(
      problemsOf(
        base({
          SENDGRID_WEBHOOK_PUBLIC_KEY: rsa,
          SES_SNS_TOPIC_ARNS: `${topic},ses-events`,
          SNS_CERT_URL_PATTERN: '^https://(sns',
        }),
      ),
    ).toEqual([
      'SENDGRID_WEBHOOK_PUBLIC_KEY: must be the verification key SendGrid shows for the signed Event Webhook ' +
        '(base64 of an ECDSA P-256 public key)',
      'SES_SNS_TOPIC_ARNS: must be a comma list of SNS topic ARNs (arn:aws:sns:<region>:<account id>:<topic>)',
      'SNS_CERT_URL_PATTERN: must be a valid regular expression',
    ]);
  });

  it.each(['production', 'staging'])('wants certificates over https in %s', (environment) => {
    expect(
      problemsOf(production({ ENVIRONMENT: environment, SNS_CERT_URL_PATTERN: '^http://sns\\.local/' })),
    ).toEqual(['SNS_CERT_URL_PATTERN: must start with ^https:// outside development']);
  });
});

describe('loadConfig EMAIL_FROM', () => {
  it('reads "Name <address>"', () => {
    const config = loadConfig(base({ EMAIL_FROM: 'FreeFace Mail <mail@example.com>' }), ALL_ROLES);
    expect(config.email.from).toEqual({ email: 'mail@example.com', name: 'FreeFace Mail' });
  });

  it('reads a bare address', () => {
    const config = loadConfig(base({ EMAIL_FROM: 'mail@example.com' }), ALL_ROLES);
    expect(config.email.from).toEqual({ email: 'mail@example.com' });
  });

  it('refuses text that is not one mailbox', () => {
    expect(problemsOf(base({ EMAIL_FROM: 'FreeFace <not an address>' }))).toEqual([
      'EMAIL_FROM: must be an address such as noreply@example.com or "Name <noreply@example.com>"',
    ]);
  });

  it('is required in production', () => {
    expect(problemsOf(production({ EMAIL_FROM: undefined }))).toEqual([
      'EMAIL_FROM: is required in production',
    ]);
  });
});

describe('loadConfig log levels', () => {
  it('reads LOG_LEVELS as name=level pairs', () => {
    const config = loadConfig(base({ LOG_LEVELS: 'smtp=debug, Templates=TRACE' }), ALL_ROLES);
    expect(config.logging.levels).toEqual({ smtp: 'debug', templates: 'trace' });
  });

  it('names each bad LOG_LEVELS entry', () => {
    expect(problemsOf(base({ LOG_LEVELS: 'smtp=loud,http' }))).toEqual([
      'LOG_LEVELS: "smtp=loud" must look like name=level with level one of trace, debug, info, warn, error, fatal, silent',
      'LOG_LEVELS: "http" must look like name=level with level one of trace, debug, info, warn, error, fatal, silent',
    ]);
  });

  it('reads per-logger levels from the LOG_CONFIG YAML file', () => {
    const path = file('logging.yaml', '# levels\nlevels:\n  smtp: debug\n  HTTP: warn\n');
    expect(loadConfig(base({ LOG_CONFIG: path }), ALL_ROLES).logging.levels).toEqual({
      smtp: 'debug',
      http: 'warn',
    });
  });

  it('lets LOG_LEVELS override the entries of LOG_CONFIG', () => {
    const path = file('logging-override.yaml', 'levels:\n  smtp: info\n  redis: error\n');
    const config = loadConfig(base({ LOG_CONFIG: path, LOG_LEVELS: 'smtp=trace' }), ALL_ROLES);
    expect(config.logging.levels).toEqual({ smtp: 'trace', redis: 'error' });
  });

  it('accepts a LOG_CONFIG file without levels', () => {
    const path = file('logging-nolevels.yaml', 'other: 1\n');
    expect(loadConfig(base({ LOG_CONFIG: path }), ALL_ROLES).logging.levels).toEqual({});
  });

  it('refuses a LOG_CONFIG file that does not exist', () => {
    const path = join(dir, 'missing.yaml');
    expect(problemsOf(base({ LOG_CONFIG: path }))).toEqual([`LOG_CONFIG: file ${path} does not exist`]);
  });

  it('refuses a LOG_CONFIG file that is not YAML', () => {
    const path = file('broken.yaml', 'levels: [smtp: debug\n  : : :\n');
    expect(problemsOf(base({ LOG_CONFIG: path }))).toEqual([`LOG_CONFIG: ${path} is not valid YAML`]);
  });

  it('names a bad level inside the LOG_CONFIG file', () => {
    const path = file('bad-level.yaml', 'levels:\n  smtp: chatty\n');
    expect(problemsOf(base({ LOG_CONFIG: path }))).toEqual([
      `LOG_CONFIG (${path}): level of "smtp" must be one of trace, debug, info, warn, error, fatal, silent`,
    ]);
  });

  it('refuses levels that are not a map', () => {
    const path = file('levels-list.yaml', 'levels:\n  - smtp\n');
    expect(problemsOf(base({ LOG_CONFIG: path }))).toEqual([
      `LOG_CONFIG (${path}): "levels" must be a map of logger name to level`,
    ]);
  });
});

describe('loadConfig literal secrets for log scrubbing', () => {
  it('collects SMTP_PASSWORD and the decoded password of REDIS_URL', () => {
    const config = loadConfig(
      base({ SMTP_USER: 'mailer', SMTP_PASSWORD: 'smtp-pw', REDIS_URL: 'redis://:p%40ss-word@cache:6379' }),
      ALL_ROLES,
    );
    expect(config.logging.secrets).toEqual(['smtp-pw', 'p@ss-word']);
    expect(config.smtp.user).toBe('mailer');
    expect(config.smtp.password).toBe('smtp-pw');
  });

  it("collects the data nodes' and the sentinels' passwords with Sentinel", () => {
    const config = loadConfig(
      base({
        REDIS_SENTINELS: 's1:26379,s2:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_PASSWORD: 'data-pw',
        REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      }),
      ALL_ROLES,
    );
    expect(config.logging.secrets).toEqual(['data-pw', 'sentinel-pw']);
  });

  it('collects nothing when there are no passwords', () => {
    expect(loadConfig(base({ REDIS_URL: 'redis://cache:6379' }), ALL_ROLES).logging.secrets).toEqual([]);
  });
});

describe('loadConfig webhooks', () => {
  const KEY = 'k'.repeat(32);

  it('reads the allowed hosts, the retry schedule, the secrets key, the concurrency and the pause', () => {
    const config = loadConfig(
      base({
        WEBHOOK_ALLOWED_HOSTS: ' hooks.example.com, *.corp.example ,10.0.0.0/8',
        WEBHOOK_RETRY_SCHEDULE: '1s,1m',
        WEBHOOK_SECRETS_KEY: KEY,
        WEBHOOK_CONCURRENCY: '4',
        WEBHOOK_ENDPOINT_CONCURRENCY: '3',
        WEBHOOK_PAUSE_AFTER_TIMEOUTS: '25',
      }),
      ALL_ROLES,
    );
    expect(config.webhooks).toEqual({
      targets: {
        allowedHosts: ['hooks.example.com', '*.corp.example', '10.0.0.0/8'],
        emptyAllowsAny: true,
        requireHttps: false,
      },
      retryDelaysMs: [1000, 60_000],
      secretsKey: KEY,
      secretsKeyIsDevelopmentKey: false,
      concurrency: 4,
      endpointConcurrency: 3,
      pauseAfterTimeouts: 25,
    });
    expect(config.logging.secrets).toContain(KEY);
  });

  it('refuses an endpoint concurrency or a pause threshold that is not a positive whole number', () => {
    for (const [name, value] of [
      ['WEBHOOK_ENDPOINT_CONCURRENCY', '0'],
      ['WEBHOOK_ENDPOINT_CONCURRENCY', '51'],
      ['WEBHOOK_ENDPOINT_CONCURRENCY', 'two'],
      ['WEBHOOK_PAUSE_AFTER_TIMEOUTS', '0'],
      ['WEBHOOK_PAUSE_AFTER_TIMEOUTS', '1.5'],
    ] as const)
      expect(problemsOf(base({ [name]: value }))).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });

  it.each(['production', 'staging'])('allows no host by default in %s, over https only', (environment) => {
    expect(loadConfig(production({ ENVIRONMENT: environment }), ALL_ROLES).webhooks.targets).toEqual({
      allowedHosts: [],
      emptyAllowsAny: false,
      requireHttps: true,
    });
  });

  it('names a bad host rule and a bad schedule, and needs a real key for allowed hosts in production', () => {
    expect(
      problemsOf(
        base({ WEBHOOK_ALLOWED_HOSTS: 'ok.example, 10.0.0.0/40', WEBHOOK_RETRY_SCHEDULE: '5s,later' }),
      ),
    ).toEqual([
      'WEBHOOK_ALLOWED_HOSTS: "10.0.0.0/40" is not a CIDR such as 10.0.0.0/8',
      'WEBHOOK_RETRY_SCHEDULE: "later" is not a duration such as 500ms, 5s, 5m, 2h or 1d',
    ]);
    for (const environment of ['production', 'staging'])
      expect(
        problemsOf(production({ ENVIRONMENT: environment, WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com' })),
      ).toEqual([
        expect.stringMatching(
          /^WEBHOOK_SECRETS_KEY: is required outside development when WEBHOOK_ALLOWED_HOSTS is set/,
        ),
      ]);
    expect(problemsOf(base({ WEBHOOK_SECRETS_KEY: 'short' }))).toEqual([
      'WEBHOOK_SECRETS_KEY: must be longer than or equal to 32 characters',
    ]);
  });
});

describe('loadConfig SMTP ingress', () => {
  it('reads the STARTTLS certificate and key from their PEM files', () => {
    const config = loadConfig(
      base({
        SMTP_INGRESS_PORT: '2587',
        SMTP_INGRESS_TLS_CERT: file('cert.pem', PEM_CERT),
        SMTP_INGRESS_TLS_KEY: file('key.pem', PEM_KEY),
      }),
      ALL_ROLES,
    );
    expect(config.smtpIngress).toEqual({
      port: 2587,
      healthPort: 3002,
      tls: { cert: PEM_CERT, key: PEM_KEY },
    });
  });

  it('needs both files, readable and of the right kind, and both outside development', () => {
    expect(problemsOf(base({ SMTP_INGRESS_TLS_CERT: file('only.pem', PEM_CERT) }))).toEqual([
      'SMTP_INGRESS_TLS_CERT, SMTP_INGRESS_TLS_KEY: set both (the PEM certificate and its key) or neither',
    ]);
    expect(
      problemsOf(
        base({
          SMTP_INGRESS_TLS_CERT: file('swapped.pem', PEM_KEY),
          SMTP_INGRESS_TLS_KEY: join(dir, 'none'),
        }),
      ),
    ).toEqual([
      `SMTP_INGRESS_TLS_CERT: ${join(dir, 'swapped.pem')} is not a PEM file of the expected kind`,
      `SMTP_INGRESS_TLS_KEY: cannot read ${join(dir, 'none')}`,
    ]);
    for (const environment of ['production', 'staging'])
      expect(
        problemsOf(
          production({
            ENVIRONMENT: environment,
            SMTP_INGRESS_TLS_CERT: undefined,
            SMTP_INGRESS_TLS_KEY: undefined,
          }),
        ),
      ).toEqual([
        expect.stringMatching(
          /^SMTP_INGRESS_TLS_CERT, SMTP_INGRESS_TLS_KEY: are required outside development/,
        ),
      ]);
    // Only a process with the smtp role reads them.
    expect(() =>
      loadConfig(
        production({ SMTP_INGRESS_TLS_CERT: undefined, SMTP_INGRESS_TLS_KEY: undefined }),
        WORKER_ONLY,
      ),
    ).not.toThrow();
  });
});
