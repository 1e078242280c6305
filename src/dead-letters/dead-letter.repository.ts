import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SortedSetPager, type Page, type SortedSetEntry } from '../redis/sorted-set-page';

export interface DeadLetter {
  id: string;
  service: string;
  priority: string;
  provider: string | null;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  deadAt: number;
  createdAt: number;
  to: string[];
  subject: string;
}

const FIELDS = [
  'service',
  'priority',
  'provider',
  'attempts',
  'maxAttempts',
  'lastError',
  'createdAt',
  'to',
  'subject',
] as const;

/**
 * Puts a dead email back to `queued` with fresh attempts, atomically: only a dead one, once. It joins the
 * unfinished emails as of now, so that if its job is not queued after all (the caller fails or dies before
 * that), the reconciler queues it. Returns its priority and service, or false when it is not dead (already
 * retried, or gone).
 * A script stops at a failing command without undoing the ones before, so the writes are ordered to leave
 * something whole wherever one fails: the unfinished entry first (fails: nothing changed), then the record
 * (from then on the reconciler has it), then the dead-letter list.
 * KEYS[1] email; KEYS[2] dead letters; KEYS[3] unfinished emails. ARGV[1] id, ARGV[2] now (ms).
 */
const REVIVE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'dead' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0)
redis.call('HDEL', KEYS[1], 'deadAt', 'reservedProvider', 'reservedUntil', 'unroutableSince')
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HMGET', KEYS[1], 'priority', 'service')
`;

interface RevivingRedis extends Redis {
  freefaceReviveDead(
    emailKey: string,
    deadLettersKey: string,
    unfinishedKey: string,
    id: string,
    now: number,
  ): Promise<[string, string] | null>;
}

/** The dead-letter list: ids in a sorted set by time of death, the details in each email's record. */
@Injectable()
export class DeadLetterRepository {
  private readonly redis: RevivingRedis;
  private readonly pager: SortedSetPager;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
  ) {
    this.redis = connections.client as RevivingRedis;
    this.pager = new SortedSetPager(this.redis);
    if (!this.redis.freefaceReviveDead) {
      this.redis.defineCommand('freefaceReviveDead', { numberOfKeys: 3, lua: REVIVE_SCRIPT });
    }
  }

  count(): Promise<number> {
    return this.redis.zcard(this.keys.deadLetters());
  }

  /**
   * Dead letters newest first, after the position `after` (exclusive), `limit` of them, those whose last
   * attempt went to `provider` when given (a bounded scan: see SortedSetPager).
   */
  page(limit: number, after?: SortedSetEntry, provider?: string): Promise<Page<DeadLetter>> {
    return this.pager.page({
      key: this.keys.deadLetters(),
      limit,
      ...(after ? { after } : {}),
      load: (entries) => this.details(entries),
      ...(provider ? { matches: (letter: DeadLetter) => letter.provider === provider } : {}),
    });
  }

  /** The priority of a dead email (the queue its job is in), or undefined when it is not dead. */
  async priorityOf(id: string): Promise<string | undefined> {
    const [status, priority] = await this.redis.hmget(this.keys.email(id), 'status', 'priority');
    return status === 'dead' ? (priority ?? 'medium') : undefined;
  }

  /** Moves a dead email back to `queued`; returns its priority and service, or undefined when it was not dead. */
  async revive(id: string, now: number): Promise<{ priority: string; service: string } | undefined> {
    const revived = await this.redis.freefaceReviveDead(
      this.keys.email(id),
      this.keys.deadLetters(),
      this.keys.unfinishedEmails(),
      id,
      now,
    );
    return revived ? { priority: revived[0], service: revived[1] } : undefined;
  }

  /** Takes an email off the list (its record stays, `dead`). Returns whether it was there. */
  async remove(id: string): Promise<boolean> {
    return (await this.redis.zrem(this.keys.deadLetters(), id)) === 1;
  }

  /** Each entry's dead letter, from its email's record; undefined where the record has expired. */
  private async details(entries: readonly SortedSetEntry[]): Promise<(DeadLetter | undefined)[]> {
    const pipeline = this.redis.pipeline();
    for (const { id } of entries) pipeline.hmget(this.keys.email(id), ...FIELDS);
    const results = (await pipeline.exec()) ?? [];
    return entries.map(({ id, score }, i) => {
      const values = results[i]?.[1] as (string | null)[] | undefined;
      if (!values || values[0] === null) return undefined;
      const [service, priority, provider, attempts, maxAttempts, lastError, createdAt, to, subject] = values;
      return {
        id,
        service: service ?? '',
        priority: priority ?? 'medium',
        provider: provider ?? null,
        attempts: Number(attempts ?? 0),
        maxAttempts: Number(maxAttempts ?? 0),
        lastError: lastError ?? null,
        deadAt: score,
        createdAt: Number(createdAt),
        to: JSON.parse(to ?? '[]') as string[],
        subject: subject ?? '',
      };
    });
  }
}
