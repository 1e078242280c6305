import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import type { EmailRecord } from '../emails/email-record';
import type { EmailStatus } from '../common/email-status';
import { EmailStore } from '../emails/email.store';
import { PRIORITIES } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import type { UnfinishedEmail } from './reconcile-verdict';

const DAY_MS = 86_400_000;

type LeaderKeys = [leader: string];
const TAKE_LEADERSHIP = loadScript<LeaderKeys, [token: string, leaseMs: number], 0 | 1>(
  __dirname,
  'take-leadership.lua',
);
const RESIGN_LEADERSHIP = loadScript<LeaderKeys, [token: string], number>(__dirname, 'resign-leadership.lua');
type RequeueKeys = [email: string, unfinished: string];
type RequeueArgs = [id: string, status: string, now: number];
const READY_FOR_REQUEUE = loadScript<RequeueKeys, RequeueArgs, 0 | 1>(__dirname, 'ready-for-requeue.lua');
type DeadLetterKeys = [email: string, message: string, deadLetters: string, unfinished: string];
type DeadLetterArgs = [id: string, status: string, reason: string, now: number, retentionMs: number];
const DEAD_LETTER = loadScript<DeadLetterKeys, DeadLetterArgs, 0 | 1>(__dirname, 'dead-letter-overdue.lua');

/** An unfinished email that has made no progress for a while, as the reconciler reads it. */
export interface OverdueEmail {
  id: string;
  email: UnfinishedEmail | undefined;
  /** Why its record could not be read (a key of the wrong type): it is neither judged nor forgotten. */
  unreadable?: string;
}

/**
 * The reconciler's side of Redis: its leader key, and the unfinished emails (written by the email records'
 * owners as emails are accepted and finish; read, re-scored and repaired here).
 */
@Injectable()
export class ReconcilerStore {
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  private readonly takeLeadership: ScriptCommand<LeaderKeys, [token: string, leaseMs: number], 0 | 1>;
  private readonly resignLeadership: ScriptCommand<LeaderKeys, [token: string], number>;
  private readonly readyForRequeueScript: ScriptCommand<RequeueKeys, RequeueArgs, 0 | 1>;
  private readonly deadLetterScript: ScriptCommand<DeadLetterKeys, DeadLetterArgs, 0 | 1>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly emails: EmailStore,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    this.takeLeadership = scriptCommand(this.redis, TAKE_LEADERSHIP);
    this.resignLeadership = scriptCommand(this.redis, RESIGN_LEADERSHIP);
    this.readyForRequeueScript = scriptCommand(this.redis, READY_FOR_REQUEUE);
    this.deadLetterScript = scriptCommand(this.redis, DEAD_LETTER);
  }

  /** Whether `token` leads now (it took the leadership, or renewed its lease). */
  async lead(token: string, leaseMs: number): Promise<boolean> {
    return (await this.takeLeadership([this.keys.reconcilerLeader()], [token, leaseMs])) === 1;
  }

  async resign(token: string): Promise<void> {
    await this.resignLeadership([this.keys.reconcilerLeader()], [token]);
  }

  /**
   * Up to `limit` unfinished emails last seen at or before `seenBefore`, longest-waiting first, each with its
   * record (undefined when it has expired or was removed, or `unreadable` when Redis refused to read it).
   * Two round trips, however many emails are unfinished (each partition is read at once, then merged).
   */
  async overdue(seenBefore: number, limit: number): Promise<OverdueEmail[]> {
    const partitions = await Promise.all(
      this.keys
        .partitionNumbers()
        .map((partition) =>
          this.redis.zrange(
            this.keys.unfinishedEmails(partition),
            '-inf',
            seenBefore,
            'BYSCORE',
            'LIMIT',
            0,
            limit,
            'WITHSCORES',
          ),
        ),
    );
    const ids = longestWaitingFirst(partitions, limit);
    const records = await this.emails.findMany(ids);
    return ids.map((id, i) => {
      const record = records[i];
      if (record instanceof Error) return { id, email: undefined, unreadable: record.message };
      return { id, email: record && unfinishedEmail(record) };
    });
  }

  /** Marks emails as seen making progress at the given times (only those still unfinished). */
  async seen(emails: readonly { id: string; at: number }[]): Promise<void> {
    await Promise.all(
      [...this.keys.byPartition(emails, ({ id }) => id)].map(([partition, ofPartition]) =>
        this.redis.zadd(
          this.keys.unfinishedEmails(partition),
          'XX',
          ...ofPartition.flatMap(({ id, at }) => [at, id]),
        ),
      ),
    );
  }

  /** Takes emails off the unfinished ones (finished, or their record is gone). */
  async forget(ids: readonly string[]): Promise<void> {
    await Promise.all(
      [...this.keys.byPartition(ids, (id) => id)].map(([partition, ofPartition]) =>
        this.redis.zrem(this.keys.unfinishedEmails(partition), ...ofPartition),
      ),
    );
  }

  /** Readies an email for a new job (see ready-for-requeue.lua); false when its status has changed meanwhile. */
  async readyForRequeue(id: string, status: EmailStatus, now: number): Promise<boolean> {
    const keys: RequeueKeys = [this.keys.email(id), this.keys.unfinishedEmails(this.keys.partitionOf(id))];
    return (await this.readyForRequeueScript(keys, [id, status, now])) === 1;
  }

  /** Makes an email dead (see dead-letter-overdue.lua); false when its status has changed meanwhile. */
  async deadLetter(id: string, status: EmailStatus, reason: string, now: number): Promise<boolean> {
    const keys: DeadLetterKeys = [
      this.keys.email(id),
      this.keys.emailMessage(id),
      this.keys.deadLetters(this.keys.partitionOf(id)),
      this.keys.unfinishedEmails(this.keys.partitionOf(id)),
    ];
    return (await this.deadLetterScript(keys, [id, status, reason, now, this.retentionMs])) === 1;
  }
}

/** The first `limit` ids of every partition's `[id, score, …]` replies merged, lowest score first. */
function longestWaitingFirst(partitions: readonly string[][], limit: number): string[] {
  if (partitions.length === 1) return partitions[0]!.filter((_, i) => i % 2 === 0);
  const entries = partitions.flatMap((reply) =>
    reply.flatMap((id, i) => (i % 2 === 0 ? [{ id, score: Number(reply[i + 1]) }] : [])),
  );
  return entries
    .sort((a, b) => a.score - b.score)
    .slice(0, limit)
    .map(({ id }) => id);
}

/** What the reconciler judges an email by; a priority it does not know is taken for medium. */
function unfinishedEmail(record: EmailRecord): UnfinishedEmail {
  return {
    id: record.id,
    status: record.status,
    priority: PRIORITIES.includes(record.priority) ? record.priority : 'medium',
    service: record.service,
    ...(record.requestId ? { requestId: record.requestId } : {}),
    ...(record.provider ? { provider: record.provider } : {}),
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    ...(record.sendAt !== undefined ? { sendAt: record.sendAt } : {}),
  };
}
