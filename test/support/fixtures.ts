import { generateToken } from '../../src/common/token-format';
import { waitUntil } from './ports';
import { PrivateRedis } from './private-redis';
import type { SmtpSink } from './smtp-sink';

/** Tokens for the services the tests play: billing (send,read), reports (read), ops (admin), and a rotated pair. */
export const TOKENS = {
  billing: generateToken('dev'),
  billingNext: generateToken('dev'),
  reports: generateToken('dev'),
  ops: generateToken('dev'),
  signup: generateToken('dev'),
};

export function tokenEnv(): Record<string, string> {
  return {
    SERVICE_TOKEN_BILLING_PRIMARY: TOKENS.billing,
    SERVICE_TOKEN_BILLING_SECONDARY: TOKENS.billingNext,
    SERVICE_TOKEN_REPORTS_PRIMARY: TOKENS.reports,
    SERVICE_TOKEN_REPORTS_SCOPES: 'read',
    SERVICE_TOKEN_OPS_PRIMARY: TOKENS.ops,
    SERVICE_TOKEN_OPS_SCOPES: 'admin',
    SERVICE_TOKEN_SIGN_UP_PRIMARY: TOKENS.signup,
  };
}

/**
 * The environment every test process shares: its own Redis and SMTP sink, fast retries, quiet logs. `redis`:
 * a private server (REDIS_URL), or the variables of another topology (REDIS_SENTINELS…).
 */
export function baseEnv(
  redis: PrivateRedis | Record<string, string>,
  sink?: SmtpSink,
): Record<string, string> {
  return {
    ENVIRONMENT: 'development',
    ...(redis instanceof PrivateRedis ? { REDIS_URL: redis.url } : redis),
    QUEUE_PREFIX: `{test-${Math.random().toString(36).slice(2, 8)}}`,
    LOG_LEVEL: 'info',
    EMAIL_FROM: 'FreeFace Tests <noreply@freeface.test>',
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(sink?.port ?? 2),
    RETRY_BACKOFF_MS: '100',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...tokenEnv(),
  };
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small HTTP client for the API under test. */
export function client(baseUrl: string, token?: string) {
  const request = async <T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T } satisfies HttpResult<T>;
  };
  return {
    get: <T = Record<string, unknown>>(path: string, headers?: Record<string, string>) =>
      request<T>('GET', path, undefined, headers),
    post: <T = Record<string, unknown>>(path: string, body?: unknown, headers?: Record<string, string>) =>
      request<T>('POST', path, body, headers),
    put: <T = Record<string, unknown>>(path: string, body?: unknown, headers?: Record<string, string>) =>
      request<T>('PUT', path, body, headers),
    delete: <T = Record<string, unknown>>(path: string, headers?: Record<string, string>) =>
      request<T>('DELETE', path, undefined, headers),
  };
}

export interface AuditItem {
  event: string;
  detail: Record<string, unknown>;
}

/**
 * An email's audit trail once it holds every event in `events`. The trail is written in batches after the
 * status changes it records, so a test that has just seen a status waits for its events rather than racing them.
 */
export async function auditTrailWith(
  api: ReturnType<typeof client>,
  emailId: string,
  events: readonly string[],
  timeoutMs = 5000,
): Promise<AuditItem[]> {
  let items: AuditItem[] = [];
  await waitUntil(
    async () => {
      items = (await api.get<{ items: AuditItem[] }>(`/api/v1/audit/${emailId}`)).body.items ?? [];
      const seen = items.map((item) => item.event);
      return events.every((event) => seen.includes(event));
    },
    timeoutMs,
    `the audit trail of ${emailId} to hold ${events.join(', ')}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it holds ${items.map((item) => item.event).join(', ')}`);
  });
  return items;
}

/**
 * Resolves once no email job waits, runs or is delayed in any priority queue (read from GET /api/v1/queues): from
 * then on nothing accepted before can still be delivered, so a test may assert what was not. Not for a test that
 * keeps emails scheduled for later (their jobs stay delayed).
 */
export async function queuesIdle(baseUrl: string, timeoutMs = 20_000): Promise<void> {
  type Counts = { waiting: number; active: number; delayed: number };
  const ops = client(baseUrl, TOKENS.ops);
  let queues: Record<string, Counts> = {};
  await waitUntil(
    async () => {
      queues = (await ops.get<{ queues: Record<string, Counts> }>('/api/v1/queues')).body.queues;
      return Object.values(queues).every((q) => q.waiting === 0 && q.active === 0 && q.delayed === 0);
    },
    timeoutMs,
    'every email queue to be idle',
  ).catch((error: Error) => {
    throw new Error(`${error.message}; ${JSON.stringify(queues)}`);
  });
}

export const INLINE_EMAIL = {
  to: ['ana@example.com', { email: 'bo@example.com', name: 'Bo Berg' }],
  cc: ['carl@example.com'],
  bcc: ['dora@example.com'],
  replyTo: { email: 'support@example.com', name: 'Support' },
  subject: 'Your invoice 42',
  text: 'Hello Ana, your invoice is attached.',
  html: '<p>Hello Ana, your <b>invoice</b> is attached.</p>',
  headers: { 'X-Campaign': 'invoices' },
  tags: ['invoice'],
  metadata: { invoiceId: '42' },
  attachments: [
    {
      filename: 'invoice.pdf',
      content: Buffer.from('%PDF-1.4 fake invoice').toString('base64'),
      contentType: 'application/pdf',
    },
    { filename: 'notes.txt', content: Buffer.from('line one\nline two\n').toString('base64') },
  ],
};
