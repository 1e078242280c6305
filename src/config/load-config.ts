import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { hashTagBounds } from '../common/hash-tag';
import { parseMailbox, type MailAddress } from '../common/mail-address';
import { defaultLogLevel, levelsFromDocument, parseLogLevels } from './log-levels';
import {
  API_RATE_LIMIT_HINT,
  DAILY_BYTE_QUOTA_HINT,
  parseApiRateLimit,
  parseAuthFailureLimit,
  parseDailyByteQuota,
  parseTrustProxy,
} from './api-limits';
import type { AppConfig } from './app-config';
import { EnvSchema } from './env.schema';
import { EXAMPLE_TOKEN } from './example-token';
import { readProviderEventSettings } from './provider-event-settings';
import { readProviderSettings } from './provider-settings';
import type { Role } from './roles';
import { isServiceTokenVariable, readServiceCredentials } from './service-tokens';
import { parseRedisTopology, type RedisTopology } from './redis-topology';
import { parseRetrySchedule } from './retry-schedule';
import { parseHostRule } from './webhook-hosts';

const DEFAULT_LOG_CONFIG = 'config/logging.yaml';
/**
 * Encrypts webhook secrets when WEBHOOK_SECRETS_KEY is unset, which only development allows (elsewhere no
 * webhook can be made without the key): public, so it protects nothing.
 */
const DEVELOPMENT_WEBHOOK_SECRETS_KEY = 'freeface-development-webhook-secrets-key (not secret)';
const DEFAULT_FROM: MailAddress = { email: 'noreply@example.com', name: 'FreeFace' };

/** Thrown at start with every configuration problem at once, each naming its variable and never its value. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const KNOWN_VARIABLES: ReadonlySet<string> = new Set(Object.keys(new EnvSchema()));

/** Whether `<name>_FILE` is ours to read: a variable of the contract, not some other tool's `*_FILE`. */
const acceptsFile = (name: string) => KNOWN_VARIABLES.has(name) || isServiceTokenVariable(name);

/**
 * Replaces `<NAME>_FILE` with the content of that file as `<NAME>` (Docker and Kubernetes secrets), for the
 * contract's variables, and drops empty values so that `NAME=` in an env file means "unset".
 */
export function resolveEnv(env: Env, errors: string[], readFile = readFileSync): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') resolved[key] = value;
  }
  for (const [key, path] of Object.entries(env)) {
    const name = key.slice(0, -'_FILE'.length);
    if (!key.endsWith('_FILE') || !path || !acceptsFile(name)) continue;
    delete resolved[key];
    if (env[name]) {
      errors.push(`${key}: set either ${name} or ${key}, not both`);
      continue;
    }
    try {
      resolved[name] = readFile(path, 'utf8').replace(/\r?\n$/, '');
    } catch {
      errors.push(`${key}: cannot read the file it names`);
    }
  }
  return resolved;
}

function describe(error: ValidationError): string {
  const messages = Object.values(error.constraints ?? {}).map((m) =>
    m.startsWith(`${error.property} `) ? m.slice(error.property.length + 1) : m,
  );
  return `${error.property}: ${messages.join('; ')}`;
}

function readLogLevels(env: EnvSchema, errors: string[]) {
  const path = env.LOG_CONFIG ?? DEFAULT_LOG_CONFIG;
  let fromFile = {};
  if (existsSync(path)) {
    try {
      fromFile = levelsFromDocument(parseYaml(readFileSync(path, 'utf8')), `LOG_CONFIG (${path})`, errors);
    } catch {
      errors.push(`LOG_CONFIG: ${path} is not valid YAML`);
    }
  } else if (env.LOG_CONFIG) {
    errors.push(`LOG_CONFIG: file ${path} does not exist`);
  }
  const fromEnv = env.LOG_LEVELS ? parseLogLevels(env.LOG_LEVELS, 'LOG_LEVELS', errors) : {};
  return { ...fromFile, ...fromEnv };
}

/** The passwords of a topology: the URL's (a secret even though the URL as a whole is not) and the others. */
function redisSecrets(topology: RedisTopology): (string | undefined)[] {
  if (topology.mode === 'single') {
    try {
      const password = new URL(topology.url).password;
      return [password ? decodeURIComponent(password) : undefined];
    } catch {
      return [];
    }
  }
  return [topology.password, topology.mode === 'sentinel' ? topology.sentinelPassword : undefined];
}

function readRedisTlsCa(path: string | undefined, errors: string[]): string | undefined {
  if (!path) return undefined;
  try {
    const pem = readFileSync(path, 'utf8');
    if (pem.includes('-----BEGIN CERTIFICATE-----')) return pem;
    errors.push(`REDIS_TLS_CA_FILE: ${path} holds no PEM certificate`);
  } catch {
    errors.push(`REDIS_TLS_CA_FILE: cannot read ${path}`);
  }
  return undefined;
}

/**
 * Validates the whole environment for the given roles and returns the frozen configuration, or throws one
 * ConfigError naming every bad variable.
 */
export function loadConfig(rawEnv: Env, roles: ReadonlySet<Role>): AppConfig {
  const errors: string[] = [];
  const resolvedEnv = resolveEnv(rawEnv, errors);
  const env = plainToInstance(EnvSchema, resolvedEnv, { exposeDefaultValues: true });
  errors.push(...validateSync(env, { validationError: { target: false, value: false } }).map(describe));

  const isProduction = env.ENVIRONMENT === 'production';
  // Staging is guarded as production is: only development, chosen on purpose, relaxes a security check.
  const isDevelopment = env.ENVIRONMENT === 'development';
  const levels = readLogLevels(env, errors);

  let from = DEFAULT_FROM;
  if (env.EMAIL_FROM) {
    const parsed = parseMailbox(env.EMAIL_FROM);
    if (parsed) from = parsed;
    else
      errors.push(
        'EMAIL_FROM: must be an address such as noreply@example.com or "Name <noreply@example.com>"',
      );
  } else if (isProduction) {
    errors.push('EMAIL_FROM: is required in production');
  }

  const apiRateLimit = env.API_RATE_LIMIT ? parseApiRateLimit(env.API_RATE_LIMIT) : 'unlimited';
  if (!apiRateLimit) errors.push(`API_RATE_LIMIT: ${API_RATE_LIMIT_HINT}`);
  const defaultRateLimit = apiRateLimit === 'unlimited' ? undefined : apiRateLimit;
  const dailyByteQuota = parseDailyByteQuota(env.DAILY_BYTE_QUOTA);
  if (!dailyByteQuota) errors.push(`DAILY_BYTE_QUOTA: ${DAILY_BYTE_QUOTA_HINT}`);
  const defaultByteQuota = dailyByteQuota === 'unlimited' ? undefined : dailyByteQuota;
  const authFailures = parseAuthFailureLimit(env.AUTH_FAILURE_LIMIT);
  if (!authFailures)
    errors.push('AUTH_FAILURE_LIMIT: must look like 10/m (a whole number per s, m or h), or be off');
  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  if ('refused' in trustProxy) errors.push(`TRUST_PROXY: ${trustProxy.refused}`);

  // With a bad prefix every token would look malformed too: report the prefix alone.
  const prefixIsValid = /^st_(dev|live)_$/.test(env.SERVICE_TOKEN_PREFIX);
  const services = prefixIsValid
    ? readServiceCredentials(
        resolvedEnv,
        env.SERVICE_TOKEN_PREFIX,
        errors,
        defaultRateLimit,
        defaultByteQuota,
      )
    : [];
  if (!isDevelopment && Object.values(resolvedEnv).some((value) => value.trim() === EXAMPLE_TOKEN)) {
    errors.push('SERVICE_TOKEN_*: the sample token of .env.example is for development only');
  }
  if (!env.SERVICE_AUTH_ENABLED && !isDevelopment) {
    errors.push('SERVICE_AUTH_ENABLED: may be false only with ENVIRONMENT=development');
  }
  if (prefixIsValid && env.SERVICE_AUTH_ENABLED && roles.has('api') && services.length === 0) {
    errors.push(
      'SERVICE_TOKEN_<NAME>_PRIMARY: no service token is configured, so no caller could use the API ' +
        '(generate one with npm run token:generate, or set SERVICE_AUTH_ENABLED=false in development)',
    );
  }

  const providers = readProviderSettings(env, resolvedEnv, errors);
  const providerEvents = readProviderEventSettings(env, !isDevelopment, errors);

  if (!isDevelopment && roles.has('monitor') && !env.DASHBOARD_USER) {
    errors.push(
      'DASHBOARD_USER, DASHBOARD_PASSWORD: are required outside development (the dashboard can retry mail)',
    );
  }

  const webhookHosts = (env.WEBHOOK_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of webhookHosts) {
    const rule = parseHostRule(entry);
    if (typeof rule === 'string') errors.push(`WEBHOOK_ALLOWED_HOSTS: ${rule}`);
  }
  const webhookRetryDelays = parseRetrySchedule(env.WEBHOOK_RETRY_SCHEDULE);
  if (typeof webhookRetryDelays === 'string') errors.push(`WEBHOOK_RETRY_SCHEDULE: ${webhookRetryDelays}`);
  const smtpTls = readSmtpIngressTls(env, roles, !isDevelopment, errors);
  const redisTopology = parseRedisTopology(resolvedEnv, errors);
  if (redisTopology?.mode === 'cluster' && !hashTagBounds(env.QUEUE_PREFIX))
    errors.push(
      "QUEUE_PREFIX: on a cluster it must hold a hash tag ({freeface}), so that each partition's keys share a slot",
    );
  const redisTlsCa = readRedisTlsCa(env.REDIS_TLS_CA_FILE, errors);
  // Outside development webhooks go to allowed hosts only: with some allowed, their secrets need a real key.
  if (!isDevelopment && webhookHosts.length > 0 && !env.WEBHOOK_SECRETS_KEY) {
    errors.push(
      'WEBHOOK_SECRETS_KEY: is required outside development when WEBHOOK_ALLOWED_HOSTS is set; it encrypts ' +
        'webhook secrets in Redis (at least 32 characters, e.g. openssl rand -base64 32)',
    );
  }

  if (errors.length > 0) throw new ConfigError(errors);

  const secrets = [
    env.SMTP_PASSWORD,
    ...redisSecrets(redisTopology),
    env.SENDGRID_API_KEY,
    env.MAILGUN_API_KEY,
    env.MAILGUN_WEBHOOK_SIGNING_KEY,
    env.AWS_SECRET_ACCESS_KEY,
    env.DASHBOARD_PASSWORD,
    env.WEBHOOK_SECRETS_KEY,
  ].filter((s): s is string => !!s);
  const config: AppConfig = {
    environment: env.ENVIRONMENT,
    roles,
    http: {
      port: env.PORT,
      workerHealthPort: env.WORKER_HEALTH_PORT,
      monitorPort: env.MONITOR_PORT,
      maxBodyBytes: env.MAX_BODY_BYTES,
      trustProxy: 'hops' in trustProxy ? trustProxy.hops : false,
    },
    redis: {
      topology: redisTopology,
      ...(redisTlsCa ? { tlsCa: redisTlsCa } : {}),
      keyPrefix: env.QUEUE_PREFIX,
      partitions: env.REDIS_PARTITIONS,
      waitReplicas: env.REDIS_WAIT_REPLICAS,
    },
    logging: {
      level: env.LOG_LEVEL ?? defaultLogLevel(env.ENVIRONMENT),
      levels,
      format: env.LOG_FORMAT,
      secrets,
    },
    auth: { enabled: env.SERVICE_AUTH_ENABLED, tokenPrefix: env.SERVICE_TOKEN_PREFIX, services },
    rateLimits: {
      ...(defaultRateLimit ? { api: defaultRateLimit } : {}),
      ...(authFailures && authFailures !== 'off' ? { authFailures } : {}),
      ...(defaultByteQuota ? { dailyByteQuota: defaultByteQuota } : {}),
    },
    email: {
      from,
      maxScheduleDays: env.MAX_SCHEDULE_DAYS,
      retentionDays: env.EMAIL_RETENTION_DAYS,
      idempotencyTtlHours: env.IDEMPOTENCY_TTL_HOURS,
      auditRetentionDays: env.AUDIT_RETENTION_DAYS,
      suppressionTtlDays: env.SUPPRESSION_TTL_DAYS,
      maxDataBytes: env.MAX_DATA_BYTES,
    },
    providers,
    providerEvents,
    smtp: {
      host: env.SMTP_HOST,
      port: env.SMTP_PORT,
      secure: env.SMTP_SECURE,
      requireTls: env.SMTP_REQUIRE_TLS ?? !isDevelopment,
      poolSize: env.SMTP_POOL_SIZE,
      ...(env.SMTP_USER ? { user: env.SMTP_USER, password: env.SMTP_PASSWORD } : {}),
    },
    delivery: {
      concurrency: env.WORKER_CONCURRENCY,
      maxAttempts: env.MAX_ATTEMPTS,
      retryBackoffMs: env.RETRY_BACKOFF_MS,
      jobLockMs: env.JOB_LOCK_MS,
      pinnedProviderWaitMs: env.PINNED_PROVIDER_WAIT_MS,
    },
    reconciler: { intervalMs: env.RECONCILER_INTERVAL_MS, staleMs: env.RECONCILER_STALE_MS },
    smtpIngress: {
      port: env.SMTP_INGRESS_PORT,
      healthPort: env.SMTP_HEALTH_PORT,
      ...(smtpTls ? { tls: smtpTls } : {}),
    },
    webhooks: {
      targets: {
        allowedHosts: webhookHosts,
        emptyAllowsAny: isDevelopment,
        requireHttps: !isDevelopment,
      },
      retryDelaysMs: webhookRetryDelays as number[],
      secretsKey: env.WEBHOOK_SECRETS_KEY ?? DEVELOPMENT_WEBHOOK_SECRETS_KEY,
      secretsKeyIsDevelopmentKey: !env.WEBHOOK_SECRETS_KEY,
      concurrency: env.WEBHOOK_CONCURRENCY,
      endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
      pauseAfterTimeouts: env.WEBHOOK_PAUSE_AFTER_TIMEOUTS,
    },
    templates: { dir: resolve(env.TEMPLATES_DIR) },
    dashboard:
      env.DASHBOARD_USER && env.DASHBOARD_PASSWORD
        ? { credentials: { user: env.DASHBOARD_USER, password: env.DASHBOARD_PASSWORD } }
        : {},
    metrics: { requireAuth: env.METRICS_AUTH },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  };
  return deepFreeze(config);
}

/**
 * The SMTP ingress's STARTTLS certificate and key, read from their PEM files: both or neither (plain SMTP,
 * development only); only for a process with the smtp role.
 */
function readSmtpIngressTls(
  env: EnvSchema,
  roles: ReadonlySet<Role>,
  tlsRequired: boolean,
  errors: string[],
): { cert: string; key: string } | undefined {
  if (!roles.has('smtp')) return undefined;
  const { SMTP_INGRESS_TLS_CERT: certPath, SMTP_INGRESS_TLS_KEY: keyPath } = env;
  if (!certPath && !keyPath) {
    if (tlsRequired)
      errors.push(
        'SMTP_INGRESS_TLS_CERT, SMTP_INGRESS_TLS_KEY: are required outside development (the SMTP ingress ' +
          'takes service tokens as passwords, so it offers STARTTLS)',
      );
    return undefined;
  }
  if (!certPath || !keyPath) {
    errors.push(
      'SMTP_INGRESS_TLS_CERT, SMTP_INGRESS_TLS_KEY: set both (the PEM certificate and its key) or neither',
    );
    return undefined;
  }
  const read = (name: string, path: string, marker: RegExp): string | undefined => {
    try {
      const text = readFileSync(path, 'utf8');
      if (marker.test(text)) return text;
      errors.push(`${name}: ${path} is not a PEM file of the expected kind`);
    } catch {
      errors.push(`${name}: cannot read ${path}`);
    }
    return undefined;
  };
  const cert = read('SMTP_INGRESS_TLS_CERT', certPath, /-----BEGIN CERTIFICATE-----/);
  const key = read('SMTP_INGRESS_TLS_KEY', keyPath, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return cert && key ? { cert, key } : undefined;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Set)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
