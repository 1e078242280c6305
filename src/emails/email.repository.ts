import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { EmailRecord, NewEmail } from './email-record';
import type { EmailStatus } from './email-status';

const DAY_MS = 86_400_000;

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
  private readonly redis: Redis;
  private readonly retentionMs: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.retentionDays * DAY_MS;
  }

  /** Writes a new record and its message in one MULTI. */
  async create({ record, message }: NewEmail): Promise<void> {
    const key = this.keys.email(record.id);
    const ttlMs = this.retentionMs + Math.max(0, (record.sendAt ?? 0) - record.createdAt);
    const transaction = this.redis
      .multi()
      .hset(key, { ...serialize(record), message: JSON.stringify(message) })
      .pexpire(key, ttlMs);
    if (record.sendAt !== undefined) transaction.zadd(this.keys.scheduled(), record.sendAt, record.id);
    await transaction.exec().then(throwIfAnyFailed);
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
