import { Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE } from './retry-schedule';

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What one service may have stored per UTC day unless configured otherwise (DAILY_BYTE_QUOTA). */
export const DEFAULT_DAILY_BYTE_QUOTA = 1024 * 1024 * 1024;

/** The providers an email can be delivered through. */
export const PROVIDER_NAMES = ['smtp', 'sendgrid', 'mailgun', 'ses'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** `true`/`false`/`1`/`0`/`yes`/`no`; anything else stays a string so that validation names it. */
function toBoolean({ value }: { value: unknown }): unknown {
  if (typeof value !== 'string') return value;
  const normalised = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalised)) return true;
  if (['false', '0', 'no', 'off'].includes(normalised)) return false;
  return value;
}

/**
 * The process environment as the contract defines it. Every field has its default here, so a reader sees
 * each variable, its type and its default in one place. Dynamic names (`SERVICE_TOKEN_<NAME>_*`) are read by
 * `service-tokens.ts`.
 */
export class EnvSchema {
  /**
   * Unset means production: a process that nobody configured must not fail open. Only development (what
   * `npm run dev` and the tests set) relaxes a security check; staging keeps them all.
   */
  @IsIn(ENVIRONMENTS)
  ENVIRONMENT: Environment = 'production';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  PORT = 3000;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  WORKER_HEALTH_PORT = 3001;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  MONITOR_PORT = 8011;

  /** The SMTP ingress (role smtp): services that speak only SMTP send here with their token. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  SMTP_INGRESS_PORT = 2525;

  /** `/health`, `/health/ready` and `/metrics` of a process with the smtp role. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  SMTP_HEALTH_PORT = 3002;

  /** STARTTLS certificate and key of the SMTP ingress (PEM file paths); required outside development. */
  @IsOptional()
  @IsString()
  SMTP_INGRESS_TLS_CERT?: string;

  @IsOptional()
  @IsString()
  SMTP_INGRESS_TLS_KEY?: string;

  // Where Redis is: one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (checked in redis-topology.ts).
  @IsOptional()
  @IsString()
  REDIS_URL?: string;

  @IsOptional()
  @IsString()
  REDIS_SENTINELS?: string;

  @IsOptional()
  @IsString()
  REDIS_SENTINEL_NAME?: string;

  @IsOptional()
  @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  @IsOptional()
  @IsString()
  REDIS_CLUSTER_NODES?: string;

  /** The data nodes' credentials with Sentinel or a cluster (a URL carries its own). */
  @IsOptional()
  @IsString()
  REDIS_USERNAME?: string;

  @IsOptional()
  @IsString()
  REDIS_PASSWORD?: string;

  /** PEM file of the CA that signed Redis's (and the sentinels') certificates, as managed services need. */
  @IsOptional()
  @IsString()
  REDIS_TLS_CA_FILE?: string;

  /** How many partitions the emails and their queues are spread over (see docs/SCALING.md). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(64)
  REDIS_PARTITIONS = 1;

  /** Replicas that must have an accepted email before the API answers 202 (Redis's WAIT); 0 waits for none. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(16)
  REDIS_WAIT_REPLICAS = 0;

  @Matches(/^[A-Za-z0-9_{}.-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits, _ - . { }' })
  QUEUE_PREFIX = '{freeface}';

  @IsOptional()
  @IsIn(LOG_LEVELS)
  LOG_LEVEL?: LogLevel;

  @IsOptional()
  @IsString()
  LOG_LEVELS?: string;

  @IsOptional()
  @IsString()
  LOG_CONFIG?: string;

  @IsIn(['json', 'pretty'])
  LOG_FORMAT: 'json' | 'pretty' = 'json';

  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  SERVICE_AUTH_ENABLED = true;

  @Matches(/^st_(dev|live)_$/, { message: 'must be st_dev_ or st_live_' })
  SERVICE_TOKEN_PREFIX = 'st_dev_';

  /**
   * API calls per service (N/s, N/m or N/h), for every service without its own
   * SERVICE_TOKEN_<NAME>_RATE_LIMIT; unset: unlimited. Read by `api-limits.ts`.
   */
  @IsOptional()
  @IsString()
  API_RATE_LIMIT?: string;

  /**
   * Bytes stored for delivery (messages, a group's shared data once) per service per UTC day, for every
   * service without its own SERVICE_TOKEN_<NAME>_DAILY_BYTE_QUOTA; `unlimited` for none. Read by `api-limits.ts`.
   */
  @IsString()
  DAILY_BYTE_QUOTA = String(DEFAULT_DAILY_BYTE_QUOTA);

  /** Failed authentications from one client address per s, m or h before it gets 429; `off` for none. */
  @IsString()
  AUTH_FAILURE_LIMIT = '10/m';

  /** Whose X-Forwarded-For names the client: false (nobody's), or the proxies' own addresses and CIDRs. */
  @IsString()
  TRUST_PROXY = 'false';

  @IsOptional()
  @IsString()
  @MinLength(3)
  EMAIL_FROM?: string;

  @IsIn(PROVIDER_NAMES, { message: `must be one of: ${PROVIDER_NAMES.join(', ')}` })
  EMAIL_PROVIDER: ProviderName = 'smtp';

  /** Comma list of providers tried, in order, after a transient failure of the one before. */
  @IsOptional()
  @IsString()
  PROVIDER_FALLBACKS?: string;

  @IsOptional()
  @IsString()
  SENDGRID_API_KEY?: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  SENDGRID_BASE_URL = 'https://api.sendgrid.com';

  /**
   * Verifies SendGrid's signed Event Webhook (POST /webhooks/sendgrid): the verification key its console
   * shows (base64 of an ECDSA P-256 public key); without it the callbacks are refused. Checked by load-config.
   */
  @IsOptional()
  @IsString()
  SENDGRID_WEBHOOK_PUBLIC_KEY?: string;

  @IsOptional()
  @IsString()
  MAILGUN_API_KEY?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9.-]+$/, { message: 'must be a domain name' })
  MAILGUN_DOMAIN?: string;

  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  MAILGUN_URL = 'https://api.mailgun.net';

  /** Verifies Mailgun's event callbacks (POST /webhooks/mailgun); without it they are refused. */
  @IsOptional()
  @IsString()
  MAILGUN_WEBHOOK_SIGNING_KEY?: string;

  @IsOptional()
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'must be an AWS region such as eu-west-1' })
  AWS_REGION?: string;

  @IsOptional()
  @IsString()
  AWS_ACCESS_KEY_ID?: string;

  @IsOptional()
  @IsString()
  AWS_SECRET_ACCESS_KEY?: string;

  @IsOptional()
  @Matches(/^https?:\/\/\S+$/, { message: 'must be an http(s) URL' })
  SES_ENDPOINT?: string;

  /**
   * The SES configuration set every send names (event publishing, dedicated IP pool); unset: none. Callers
   * cannot choose one: X-SES-* headers are refused.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: 'must be an SES configuration set name (1-64 letters, digits, _ and -)',
  })
  SES_CONFIGURATION_SET?: string;

  /**
   * Comma list of the SNS topic ARNs whose SES events POST /webhooks/ses accepts; without it they are
   * refused. Checked by load-config.
   */
  @IsOptional()
  @IsString()
  SES_SNS_TOPIC_ARNS?: string;

  /**
   * A regular expression the whole SigningCertURL and SubscribeURL of an SNS message must match before either
   * is fetched: SNS's own hosts over https. Checked by load-config (it must compile).
   */
  @IsString()
  SNS_CERT_URL_PATTERN = String.raw`^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`;

  /**
   * Body limit of the provider callbacks (POST /webhooks/sendgrid, /mailgun, /ses), apart from MAX_BODY_BYTES:
   * room for SendGrid's largest batches and SNS's largest messages (docs/DELIVERY-EVENTS.md).
   */
  @Type(() => Number)
  @IsInt()
  @Min(64 * 1024)
  @Max(100 * 1024 * 1024)
  PROVIDER_CALLBACK_MAX_BODY_BYTES = 1024 * 1024;

  /**
   * Provider callbacks one client address may make (N/s, N/m or N/h, a bucket of N), or unlimited: they carry
   * no service token, so API_RATE_LIMIT cannot apply. Checked by load-config.
   */
  @IsString()
  PROVIDER_CALLBACK_RATE_LIMIT = '100/s';

  /** Consecutive transient failures after which a provider is skipped for CIRCUIT_COOLDOWN_MS. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  CIRCUIT_FAILURE_THRESHOLD = 5;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(3_600_000)
  CIRCUIT_COOLDOWN_MS = 30_000;

  @IsString()
  @MinLength(1)
  SMTP_HOST = 'localhost';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  SMTP_PORT = 587;

  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  SMTP_SECURE = false;

  /**
   * Send only once STARTTLS has encrypted the connection (SMTP_SECURE=true encrypts it from the start);
   * unset: true outside development, so credentials and mail never cross the network in plaintext.
   */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  SMTP_REQUIRE_TLS?: boolean;

  @IsOptional()
  @IsString()
  SMTP_USER?: string;

  @ValidateIf((env: EnvSchema) => env.SMTP_USER !== undefined)
  @IsString({ message: 'is required when SMTP_USER is set' })
  SMTP_PASSWORD?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  SMTP_POOL_SIZE = 5;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(256)
  WORKER_CONCURRENCY = 3;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  MAX_ATTEMPTS = 3;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  RETRY_BACKOFF_MS = 2000;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(365)
  MAX_SCHEDULE_DAYS = 30;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  IDEMPOTENCY_TTL_HOURS = 24;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(3650)
  AUDIT_RETENTION_DAYS = 30;

  /** How long an address stays on the suppression list; 0 keeps it until it is removed. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3650)
  SUPPRESSION_TTL_DAYS = 0;

  /** Where webhooks may be sent: comma list of host names, `*.suffix`, IP addresses or CIDRs. */
  @IsOptional()
  @IsString()
  WEBHOOK_ALLOWED_HOSTS?: string;

  /** Waits before each retry of a failed webhook delivery (comma list of durations). */
  @IsString()
  WEBHOOK_RETRY_SCHEDULE = DEFAULT_WEBHOOK_RETRY_SCHEDULE;

  /** Encrypts webhook secrets in Redis; without it (development only) a fixed, public development key does. */
  @IsOptional()
  @IsString()
  @MinLength(32)
  WEBHOOK_SECRETS_KEY?: string;

  /** Webhook deliveries in flight at once per worker process (apart from WORKER_CONCURRENCY). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  WEBHOOK_CONCURRENCY = 50;

  /** Requests in flight at once to one webhook endpoint, over every worker. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  WEBHOOK_ENDPOINT_CONCURRENCY = 2;

  /** Attempts in a row without an answer within 10 s after which an endpoint is paused. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  WEBHOOK_PAUSE_AFTER_TIMEOUTS = 10;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  EMAIL_RETENTION_DAYS = 7;

  @IsString()
  @MinLength(1)
  TEMPLATES_DIR = 'templates';

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 25_000;

  /**
   * How long a worker's claim on a job lasts without renewal (renewed at half of it): after a worker dies,
   * its jobs go to another worker within one to two of these.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  JOB_LOCK_MS = 30_000;

  /**
   * How long an email pinned to a provider that a worker does not have waits for a worker that has it (during a
   * rollout, workers may differ); past it the email is dead, with the reason. 0: dead at once.
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  PINNED_PROVIDER_WAIT_MS = 300_000;

  /** How often the reconciler (worker role, one leader at a time) looks for unfinished emails left without a job. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  RECONCILER_INTERVAL_MS = 60_000;

  /**
   * How long an unfinished email (scheduled past its sendAt, queued, sending, retrying) may go without progress
   * before the reconciler checks that a job still carries it, and repairs it when none does.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(86_400_000)
  RECONCILER_STALE_MS = 300_000;

  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  MAX_BODY_BYTES = 10 * 1024 * 1024;

  /** The largest template `data` (of an email, a group, or one recipient), in bytes of JSON. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(10 * 1024 * 1024)
  MAX_DATA_BYTES = 64 * 1024;

  /** Basic-auth user of the operators' dashboard (monitor role); required outside development. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  DASHBOARD_USER?: string;

  @ValidateIf((env: EnvSchema) => env.DASHBOARD_USER !== undefined)
  @Matches(/^[^]{8,}$/, { message: 'is required when DASHBOARD_USER is set, at least 8 characters' })
  DASHBOARD_PASSWORD?: string;

  /** Whether `/metrics` asks for a token with the read scope (false: open, for a scraper inside the cluster). */
  @Transform(toBoolean)
  @IsBoolean({ message: 'must be true or false' })
  METRICS_AUTH = true;
}
