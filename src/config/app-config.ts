import type { MailAddress } from '../common/mail-address';
import type { Scope } from '../common/scopes';
import type { RateLimit } from '../common/rate';
import type { AuthFailureLimit } from './api-limits';
import type { Environment, LogLevel } from './env.schema';
import type { ProviderEventSettings } from './provider-event-settings';
import type { ProviderSettings } from './provider-settings';
import type { RedisTopology } from './redis-topology';
import type { Role } from './roles';
import type { TargetPolicyOptions } from './webhook-hosts';

export interface ServiceCredentials {
  /** The service's name in audit, metrics and logs: `billing-api` for `SERVICE_TOKEN_BILLING_API_*`. */
  service: string;
  /** SHA-256 digests of PRIMARY and SECONDARY; the raw tokens are not kept. */
  tokenDigests: Buffer[];
  scopes: ReadonlySet<Scope>;
  /** `SERVICE_TOKEN_<NAME>_RATE_LIMIT`, else `API_RATE_LIMIT`: its API calls; absent: unlimited. */
  rateLimit?: RateLimit;
  /** `SERVICE_TOKEN_<NAME>_DAILY_QUOTA`: emails it may have accepted per UTC day; absent: no quota. */
  dailyQuota?: number;
  /** `SERVICE_TOKEN_<NAME>_DAILY_BYTE_QUOTA`, else `DAILY_BYTE_QUOTA`: bytes stored per UTC day; absent: none. */
  dailyByteQuota?: number;
}

/**
 * The validated, typed configuration. It is both the type and the Nest injection token, so a class asks for
 * `config: AppConfig` and never reads `process.env`.
 */
export abstract class AppConfig {
  abstract readonly environment: Environment;
  abstract readonly roles: ReadonlySet<Role>;
  abstract readonly http: {
    readonly port: number;
    readonly workerHealthPort: number;
    readonly monitorPort: number;
    readonly maxBodyBytes: number;
    /** `TRUST_PROXY`, fastify's `trustProxy`: the proxies whose X-Forwarded-For names the client address. */
    readonly trustProxy: false | string;
  };
  abstract readonly redis: {
    readonly topology: RedisTopology;
    /** The CA certificates (PEM) that Redis's TLS certificates must chain to, when not the system's. */
    readonly tlsCa?: string;
    readonly keyPrefix: string;
    readonly partitions: number;
    /** Replicas an accepted email must have reached before the 202 (`WAIT`); 0 for none. */
    readonly waitReplicas: number;
  };
  abstract readonly logging: {
    readonly level: LogLevel;
    readonly levels: Readonly<Record<string, LogLevel>>;
    readonly format: 'json' | 'pretty';
    /** Literal secrets (passwords) that must never reach a log line; tokens are matched by their shape. */
    readonly secrets: readonly string[];
  };
  abstract readonly auth: {
    readonly enabled: boolean;
    readonly tokenPrefix: string;
    readonly services: readonly ServiceCredentials[];
  };
  abstract readonly rateLimits: {
    /** `API_RATE_LIMIT`: the limit of services without their own (and of `anonymous`); absent: unlimited. */
    readonly api?: RateLimit;
    /** `AUTH_FAILURE_LIMIT`; absent: failed authentications are never slowed down. */
    readonly authFailures?: AuthFailureLimit;
    /** `DAILY_BYTE_QUOTA`: the byte quota of services without their own (and of `anonymous`); absent: none. */
    readonly dailyByteQuota?: number;
  };
  abstract readonly email: {
    readonly from: MailAddress;
    readonly maxScheduleDays: number;
    readonly retentionDays: number;
    readonly idempotencyTtlHours: number;
    readonly auditRetentionDays: number;
    /** 0: suppressions never expire. */
    readonly suppressionTtlDays: number;
    /** `MAX_DATA_BYTES`: the largest template data (an email's, a group's shared, one recipient's) as JSON. */
    readonly maxDataBytes: number;
  };
  abstract readonly providers: Readonly<ProviderSettings>;
  /** What verifies providers' event callbacks; a provider without its setting has its callbacks refused. */
  abstract readonly providerEvents: Readonly<ProviderEventSettings>;
  abstract readonly smtp: {
    readonly host: string;
    readonly port: number;
    readonly secure: boolean;
    /** STARTTLS or nothing: a server that does not offer it gets no message (SMTP_REQUIRE_TLS). */
    readonly requireTls: boolean;
    readonly user?: string;
    readonly password?: string;
    readonly poolSize: number;
  };
  abstract readonly delivery: {
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly retryBackoffMs: number;
    /** A worker's claim on a job; a dead worker's jobs are taken over within one to two of these. */
    readonly jobLockMs: number;
    /** How long an email pinned to a provider this worker lacks waits for a worker that has it; then it is dead. */
    readonly pinnedProviderWaitMs: number;
  };
  /** The reconciler: re-queues (or dead-letters) unfinished emails that no job carries any more. */
  abstract readonly reconciler: {
    readonly intervalMs: number;
    /** How long an unfinished email may go without progress before its job is checked. */
    readonly staleMs: number;
  };
  /** The SMTP ingress (role smtp). */
  abstract readonly smtpIngress: {
    readonly port: number;
    readonly healthPort: number;
    /** STARTTLS; absent: plain SMTP only (development). */
    readonly tls?: { readonly cert: string; readonly key: string };
  };
  abstract readonly webhooks: {
    /** Where webhooks may be sent (see TargetPolicy): WEBHOOK_ALLOWED_HOSTS, https and an empty list's meaning. */
    readonly targets: Readonly<TargetPolicyOptions>;
    /** Milliseconds to wait before each retry; one retry per entry. */
    readonly retryDelaysMs: readonly number[];
    /** Encrypts endpoint secrets at rest. */
    readonly secretsKey: string;
    /** True when no WEBHOOK_SECRETS_KEY is set and the development key is used. */
    readonly secretsKeyIsDevelopmentKey: boolean;
    readonly concurrency: number;
    /** Requests in flight at once to one endpoint, over every worker. */
    readonly endpointConcurrency: number;
    /** Attempts in a row without an answer after which an endpoint is paused. */
    readonly pauseAfterTimeouts: number;
  };
  abstract readonly templates: { readonly dir: string };
  /** Basic-auth credentials of the dashboard; undefined only in development (the dashboard is open). */
  abstract readonly dashboard: {
    readonly credentials?: { readonly user: string; readonly password: string };
  };
  abstract readonly metrics: { readonly requireAuth: boolean };
  abstract readonly shutdownTimeoutMs: number;
}
