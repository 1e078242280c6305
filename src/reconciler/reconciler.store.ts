import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { EmailStatus } from '../emails/email-status';
import { PRIORITIES, type Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { UnfinishedEmail } from './reconcile-verdict';

const DAY_MS = 86_400_000;

/**
 * Takes or keeps the reconciler's leadership: the holder renews its lease; anyone else gets it only once it
 * has expired (its holder died or stopped). KEYS[1] the leader key. ARGV[1] token, ARGV[2] lease (ms).
 */
const LEAD_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Gives the leadership up, if this token still holds it. KEYS[1] the leader key. ARGV[1] token. */
const RESIGN_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Before an email's job is queued again: only if its status is still the one the reconciler judged, and it
 * counts as seen now, so that if queueing the job fails it comes round again one bound later rather than at
 * every sweep. KEYS[1] email, KEYS[2] unfinished emails. ARGV[1] id, ARGV[2] status judged, ARGV[3] now.
 */
const REQUEUE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`;

/**
 * Makes an email dead, as a last failed attempt does, if its status is still the one the reconciler judged.
 * KEYS[1] email, KEYS[2] its message, KEYS[3] dead letters, KEYS[4] unfinished emails. ARGV[1] id, ARGV[2]
 * status judged, ARGV[3] reason, ARGV[4] now, ARGV[5] the record's retention (ms).
 */
const DEAD_LETTER_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'dead', 'lastError', ARGV[3], 'deadAt', ARGV[4])
redis.call('HDEL', KEYS[1], 'reservedProvider', 'reservedUntil', 'unroutableSince')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`;

const FIELDS = [
  'status',
  'priority',
  'service',
  'requestId',
  'provider',
  'attempts',
  'maxAttempts',
  'sendAt',
] as const;

/** An unfinished email that has made no progress for a while, as the reconciler reads it. */
export interface OverdueEmail {
  id: string;
  email: UnfinishedEmail | undefined;
  /** Why its record could not be read (a key of the wrong type): it is neither judged nor forgotten. */
  unreadable?: string;
}

interface ScriptedRedis extends Redis {
  freefaceReconcilerLead(key: string, token: string, leaseMs: number): Promise<0 | 1>;
  freefaceReconcilerResign(key: string, token: string): Promise<number>;
  freefaceReconcilerRequeue(
    emailKey: string,
    unfinishedKey: string,
    id: string,
    status: string,
    now: number,
  ): Promise<0 | 1>;
  freefaceReconcilerDeadLetter(...keysAndArgs: (string | number)[]): Promise<0 | 1>;
}

/**
 * The reconciler's side of Redis: its leader key, and the unfinished emails (written by the email records'
 * owners as emails are accepted and finish; read, re-scored and repaired here).
 */
@Injectable()
export class ReconcilerStore {
  private readonly redis: ScriptedRedis;
  private readonly retentionMs: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    if (!this.redis.freefaceReconcilerLead) {
      this.redis.defineCommand('freefaceReconcilerLead', { numberOfKeys: 1, lua: LEAD_SCRIPT });
      this.redis.defineCommand('freefaceReconcilerResign', { numberOfKeys: 1, lua: RESIGN_SCRIPT });
      this.redis.defineCommand('freefaceReconcilerRequeue', { numberOfKeys: 2, lua: REQUEUE_SCRIPT });
      this.redis.defineCommand('freefaceReconcilerDeadLetter', { numberOfKeys: 4, lua: DEAD_LETTER_SCRIPT });
    }
  }

  /** Whether `token` leads now (it took the leadership, or renewed its lease). */
  async lead(token: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.freefaceReconcilerLead(this.keys.reconcilerLeader(), token, leaseMs)) === 1;
  }

  async resign(token: string): Promise<void> {
    await this.redis.freefaceReconcilerResign(this.keys.reconcilerLeader(), token);
  }

  /**
   * Up to `limit` unfinished emails last seen at or before `seenBefore`, longest-waiting first, each with its
   * record (undefined when it has expired or was removed, or `unreadable` when Redis refused to read it).
   * Two round trips, however many emails are unfinished.
   */
  async overdue(seenBefore: number, limit: number): Promise<OverdueEmail[]> {
    const ids = await this.redis.zrange(
      this.keys.unfinishedEmails(),
      '-inf',
      seenBefore,
      'BYSCORE',
      'LIMIT',
      0,
      limit,
    );
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.email(id), ...FIELDS);
    const results = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [error, values] = results[i] ?? [new Error('no reply')];
      if (error) return { id, email: undefined, unreadable: error.message };
      return { id, email: parseEmail(id, values as (string | null)[]) };
    });
  }

  /** Marks emails as seen making progress at the given times (only those still unfinished). */
  async seen(emails: readonly { id: string; at: number }[]): Promise<void> {
    if (emails.length === 0) return;
    await this.redis.zadd(this.keys.unfinishedEmails(), 'XX', ...emails.flatMap(({ id, at }) => [at, id]));
  }

  /** Takes emails off the unfinished ones (finished, or their record is gone). */
  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.keys.unfinishedEmails(), ...ids);
  }

  /** Readies an email for a new job (see REQUEUE_SCRIPT); false when its status has changed meanwhile. */
  async readyForRequeue(id: string, status: EmailStatus, now: number): Promise<boolean> {
    const done = await this.redis.freefaceReconcilerRequeue(
      this.keys.email(id),
      this.keys.unfinishedEmails(),
      id,
      status,
      now,
    );
    return done === 1;
  }

  /** Makes an email dead (see DEAD_LETTER_SCRIPT); false when its status has changed meanwhile. */
  async deadLetter(id: string, status: EmailStatus, reason: string, now: number): Promise<boolean> {
    const done = await this.redis.freefaceReconcilerDeadLetter(
      this.keys.email(id),
      this.keys.emailMessage(id),
      this.keys.deadLetters(),
      this.keys.unfinishedEmails(),
      id,
      status,
      reason,
      now,
      this.retentionMs,
    );
    return done === 1;
  }
}

function parseEmail(id: string, values: (string | null)[]): UnfinishedEmail | undefined {
  const [status, priority, service, requestId, provider, attempts, maxAttempts, sendAt] = values;
  if (!status) return undefined;
  return {
    id,
    status: status as EmailStatus,
    priority: PRIORITIES.includes(priority as Priority) ? (priority as Priority) : 'medium',
    service: service ?? '',
    ...(requestId ? { requestId } : {}),
    ...(provider ? { provider } : {}),
    attempts: Number(attempts ?? 0),
    maxAttempts: Number(maxAttempts ?? 0),
    ...(sendAt ? { sendAt: Number(sendAt) } : {}),
  };
}
