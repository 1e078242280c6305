import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { Claim, EmailRecord, NewEmail } from './email-record';
import { CLAIMABLE_STATUSES, type EmailStatus } from './email-status';

const DAY_MS = 86_400_000;

/**
 * Atomically takes an email for delivery: if its status allows it, sets `sending`, counts the attempt and
 * returns what the worker needs; otherwise returns the status alone. Being one script, it cannot interleave
 * with a cancellation, so an email is never both cancelled and sent.
 * KEYS[1] email hash; ARGV[1] now (ms); ARGV[2..] claimable statuses.
 */
const CLAIM_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
for i = 2, #ARGV do
  if status == ARGV[i] then
    local attempt = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
    redis.call('HSET', KEYS[1], 'status', 'sending', 'attemptAt', ARGV[1])
    local f = redis.call('HMGET', KEYS[1], 'maxAttempts', 'service', 'requestId', 'pinnedProvider', 'message')
    return {status, attempt, f[1], f[2], f[3], f[4], f[5]}
  end
end
return {status}
`;

type ClaimReply = [EmailStatus, number?, string?, string?, string?, string?, string?] | null;

interface ClaimingRedis extends Redis {
  freefaceClaimEmail(key: string, now: number, ...statuses: string[]): Promise<ClaimReply>;
}

/** Fields returned by status queries; the (possibly large) message is never read back here. */
const RECORD_FIELDS = [
  'status',
  'priority',
  'service',
  'requestId',
  'createdAt',
  'sendAt',
  'attempts',
  'maxAttempts',
  'pinnedProvider',
  'provider',
  'providerMessageId',
  'lastError',
  'sentAt',
  'template',
  'to',
  'subject',
  'tags',
  'metadata',
] as const;

const optional = (value: string | null | undefined) => (value ? value : undefined);
const optionalNumber = (value: string | null | undefined) => (value ? Number(value) : undefined);

/**
 * Email records in Redis: one hash per email, holding its status fields and, until it is sent, the rendered
 * message. Every record expires after EMAIL_RETENTION_DAYS (counted from its last change), so Redis stays
 * bounded without a cleanup job.
 */
@Injectable()
export class EmailRepository {
  private readonly redis: ClaimingRedis;
  private readonly retentionMs: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ClaimingRedis;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    if (!this.redis.freefaceClaimEmail) {
      this.redis.defineCommand('freefaceClaimEmail', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    }
  }

  /** Writes a new record and its message in one MULTI. */
  async create({ record, message }: NewEmail): Promise<void> {
    const key = this.keys.email(record.id);
    const ttlMs = this.retentionMs + Math.max(0, (record.sendAt ?? 0) - record.createdAt);
    await this.redis
      .multi()
      .hset(key, { ...serialize(record), message: JSON.stringify(message) })
      .pexpire(key, ttlMs)
      .exec()
      .then(throwIfAnyFailed);
  }

  async find(id: string): Promise<EmailRecord | undefined> {
    const values = await this.redis.hmget(this.keys.email(id), ...RECORD_FIELDS);
    if (values[0] === null) return undefined;
    const field = Object.fromEntries(RECORD_FIELDS.map((name, i) => [name, values[i]])) as Record<
      (typeof RECORD_FIELDS)[number],
      string | null
    >;
    return {
      id,
      status: field.status as EmailStatus,
      priority: field.priority as Priority,
      service: field.service ?? '',
      requestId: optional(field.requestId),
      createdAt: Number(field.createdAt),
      sendAt: optionalNumber(field.sendAt),
      attempts: Number(field.attempts ?? 0),
      maxAttempts: Number(field.maxAttempts ?? 0),
      pinnedProvider: optional(field.pinnedProvider),
      provider: optional(field.provider),
      providerMessageId: optional(field.providerMessageId),
      lastError: optional(field.lastError),
      sentAt: optionalNumber(field.sentAt),
      template: optional(field.template),
      to: JSON.parse(field.to ?? '[]') as string[],
      subject: field.subject ?? '',
      tags: JSON.parse(field.tags ?? '[]') as string[],
      metadata: JSON.parse(field.metadata ?? '{}') as Record<string, string>,
    };
  }

  /** Takes an email for delivery (see CLAIM_SCRIPT). */
  async claimForSending(id: string, now: number): Promise<Claim> {
    const reply = await this.redis.freefaceClaimEmail(this.keys.email(id), now, ...CLAIMABLE_STATUSES);
    if (reply === null) return { kind: 'missing' };
    const [previousStatus, attempt, maxAttempts, service, requestId, pinnedProvider, message] = reply;
    if (attempt === undefined || !message) return { kind: 'final', status: previousStatus };
    return {
      kind: 'claimed',
      previousStatus,
      attempt,
      maxAttempts: Number(maxAttempts),
      service: service ?? '',
      requestId: optional(requestId),
      pinnedProvider: optional(pinnedProvider),
      message: JSON.parse(message) as OutboundMessage,
    };
  }

  /** Records a successful send and drops the message body: it is not needed any more. */
  async markSent(
    id: string,
    sent: { provider: string; providerMessageId: string; sentAt: number },
  ): Promise<void> {
    const key = this.keys.email(id);
    await this.redis
      .multi()
      .hset(key, { status: 'sent', ...sent })
      .hdel(key, 'message')
      .pexpire(key, this.retentionMs)
      .exec()
      .then(throwIfAnyFailed);
  }

  /** Records a failed attempt: `retrying` when another will follow, `dead` when none will. */
  async markFailed(
    id: string,
    failure: { status: 'retrying' | 'dead'; provider: string; lastError: string },
  ): Promise<void> {
    const key = this.keys.email(id);
    await this.redis.multi().hset(key, failure).pexpire(key, this.retentionMs).exec().then(throwIfAnyFailed);
  }
}

function serialize(record: EmailRecord): Record<string, string | number> {
  const fields: Record<string, string | number | undefined> = {
    status: record.status,
    priority: record.priority,
    service: record.service,
    requestId: record.requestId,
    createdAt: record.createdAt,
    sendAt: record.sendAt,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    pinnedProvider: record.pinnedProvider,
    template: record.template,
    to: JSON.stringify(record.to),
    subject: record.subject,
    tags: JSON.stringify(record.tags),
    metadata: JSON.stringify(record.metadata),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number
  >;
}

function throwIfAnyFailed(results: [Error | null, unknown][] | null): void {
  const failure = results?.find(([error]) => error)?.[0];
  if (failure) throw failure;
  if (results === null) throw new Error('Redis transaction was aborted');
}
