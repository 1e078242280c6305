import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { EmailStore } from '../emails/email.store';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
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

type ReviveKeys = [email: string, deadLetters: string, unfinished: string];
type ReviveArgs = [id: string, now: number];
type Revived = [priority: string, service: string] | null;
const REVIVE = loadScript<ReviveKeys, ReviveArgs, Revived>(__dirname, 'revive-dead-letter.lua');

/**
 * The dead-letter list: ids in a sorted set by time of death (written as emails die, in DeliveryStore's and
 * ReconcilerStore's scripts), the details in each email's record (read through EmailStore).
 */
@Injectable()
export class DeadLetterStore {
  private readonly redis: RedisClient;
  private readonly pager: SortedSetPager;
  private readonly reviveScript: ScriptCommand<ReviveKeys, ReviveArgs, Revived>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly emails: EmailStore,
  ) {
    this.redis = connections.client;
    this.pager = new SortedSetPager(this.redis);
    this.reviveScript = scriptCommand(this.redis, REVIVE);
  }

  async count(): Promise<number> {
    const counts = await Promise.all(
      this.keys.partitionNumbers().map((partition) => this.redis.zcard(this.keys.deadLetters(partition))),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Dead letters newest first, after the position `after` (exclusive), `limit` of them, those whose last
   * attempt went to `provider` when given (a bounded scan: see SortedSetPager).
   */
  page(limit: number, after?: SortedSetEntry, provider?: string): Promise<Page<DeadLetter>> {
    return this.pager.page({
      keys: this.keys.partitionNumbers().map((partition) => this.keys.deadLetters(partition)),
      limit,
      ...(after ? { after } : {}),
      load: (entries) => this.details(entries),
      ...(provider ? { matches: (letter: DeadLetter) => letter.provider === provider } : {}),
    });
  }

  /** The priority of a dead email (the queue its job is in), or undefined when it is not dead. */
  async priorityOf(id: string): Promise<string | undefined> {
    const record = await this.emails.find(id);
    return record?.status === 'dead' ? (record.priority ?? 'medium') : undefined;
  }

  /** Moves a dead email back to `queued`; returns its priority and service, or undefined when it was not dead. */
  async revive(id: string, now: number): Promise<{ priority: string; service: string } | undefined> {
    const partition = this.keys.partitionOf(id);
    const revived = await this.reviveScript(
      [this.keys.email(id), this.keys.deadLetters(partition), this.keys.unfinishedEmails(partition)],
      [id, now],
    );
    return revived ? { priority: revived[0], service: revived[1] } : undefined;
  }

  /** Takes an email off the list (its record stays, `dead`). Returns whether it was there. */
  async remove(id: string): Promise<boolean> {
    return (await this.redis.zrem(this.keys.deadLetters(this.keys.partitionOf(id)), id)) === 1;
  }

  /** Each entry's dead letter, from its email's record; undefined where the record has expired. */
  private async details(entries: readonly SortedSetEntry[]): Promise<(DeadLetter | undefined)[]> {
    const records = await this.emails.findMany(entries.map(({ id }) => id));
    return entries.map(({ score }, i) => {
      const record = records[i];
      if (!record || record instanceof Error) return undefined;
      return {
        id: record.id,
        service: record.service,
        priority: record.priority ?? 'medium',
        provider: record.provider ?? null,
        attempts: record.attempts,
        maxAttempts: record.maxAttempts,
        lastError: record.lastError ?? null,
        deadAt: score,
        createdAt: record.createdAt,
        to: record.to,
        subject: record.subject,
      };
    });
  }
}
