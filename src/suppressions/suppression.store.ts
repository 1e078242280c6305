import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SortedSetPager, type Page, type SortedSetEntry } from '../redis/sorted-set-page';

const DAY_MS = 86_400_000;
/** The fields of an address's hash, as they are read. */
const FIELDS = ['reason', 'source', 'createdAt', 'expiresAt'] as const;

export const SUPPRESSION_REASONS = ['hard_bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface Suppression {
  email: string;
  reason: SuppressionReason;
  /** Who added it: `api:<service>`, or the provider whose bounce or complaint did. */
  source: string;
  createdAt: number;
  /** Undefined: kept until removed (SUPPRESSION_TTL_DAYS=0). */
  expiresAt?: number;
}

/** A recipient left out of an email because it is suppressed. */
export interface SuppressedRecipient {
  email: string;
  reason: SuppressionReason;
}

/**
 * Addresses are compared lower-cased: mailbox names are case-insensitive at every provider we send through,
 * and a list that missed `Ana@Example.com` because `ana@example.com` bounced would not protect anything.
 */
export const normalizeAddress = (address: string): string => address.trim().toLowerCase();

/**
 * The suppression list, one for all services (a hard bounce or a complaint is about the address, whoever
 * sent to it): one hash per address (reason, source, times), expiring after SUPPRESSION_TTL_DAYS, and a sorted
 * set of addresses by when they were added, for listing (entries whose hash expired are dropped when met).
 */
@Injectable()
export class SuppressionStore {
  private readonly redis: RedisClient;
  private readonly ttlMs: number;
  private readonly pager: SortedSetPager;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.ttlMs = config.email.suppressionTtlDays * DAY_MS;
    this.pager = new SortedSetPager(this.redis);
  }

  /** Adds (or renews) an address; returns the entry as stored. */
  async add(
    address: string,
    reason: SuppressionReason,
    source: string,
    now = Date.now(),
  ): Promise<Suppression> {
    const email = normalizeAddress(address);
    const entry: Suppression = {
      email,
      reason,
      source,
      createdAt: now,
      ...(this.ttlMs > 0 ? { expiresAt: now + this.ttlMs } : {}),
    };
    const key = this.keys.suppression(email);
    const transaction = this.redis
      .multi()
      .del(key)
      .hset(key, {
        reason,
        source,
        createdAt: now,
        ...(entry.expiresAt ? { expiresAt: entry.expiresAt } : {}),
      })
      .zadd(this.keys.suppressions(), now, email);
    if (entry.expiresAt) transaction.pexpire(key, this.ttlMs);
    await transaction.exec();
    return entry;
  }

  /** Removes an address; false when it was not on the list. */
  async remove(address: string): Promise<boolean> {
    const email = normalizeAddress(address);
    const [deleted] = (await this.redis
      .multi()
      .del(this.keys.suppression(email))
      .zrem(this.keys.suppressions(), email)
      .exec()) ?? [[null, 0]];
    return Number(deleted?.[1]) === 1;
  }

  async find(address: string): Promise<Suppression | undefined> {
    const email = normalizeAddress(address);
    return toSuppression(email, await this.redis.hmget(this.keys.suppression(email), ...FIELDS));
  }

  /**
   * Which of `addresses` are suppressed, and why: one round trip for all the recipients of an email,
   * whatever their number.
   */
  async check(addresses: readonly string[]): Promise<SuppressedRecipient[]> {
    if (addresses.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const email of addresses) pipeline.hget(this.keys.suppression(normalizeAddress(email)), 'reason');
    const replies = (await pipeline.exec()) ?? [];
    return addresses.flatMap((email, i) => {
      const [error, reason] = replies[i] ?? [];
      if (error) throw error;
      return typeof reason === 'string' ? [{ email, reason: reason as SuppressionReason }] : [];
    });
  }

  /** How many addresses are on the list (some may have expired since, until a listing meets them). */
  count(): Promise<number> {
    return this.redis.zcard(this.keys.suppressions());
  }

  /** A page of the list, newest first, after the position `after` (exclusive). */
  page(limit: number, after?: SortedSetEntry): Promise<Page<Suppression>> {
    // Entries whose hash expired (SUPPRESSION_TTL_DAYS) leave the index when met.
    return this.pager.page({
      keys: [this.keys.suppressions()],
      limit,
      ...(after ? { after } : {}),
      load: async (entries) => {
        const pipeline = this.redis.pipeline();
        for (const { id } of entries) pipeline.hmget(this.keys.suppression(id), ...FIELDS);
        const replies = (await pipeline.exec()) ?? [];
        return entries.map(({ id }, i) => toSuppression(id, (replies[i]?.[1] ?? []) as (string | null)[]));
      },
    });
  }
}

/** An entry from its hash's FIELDS, in their order; undefined when it is gone. */
function toSuppression(email: string, values: readonly (string | null)[]): Suppression | undefined {
  const [reason, source, createdAt, expiresAt] = values;
  if (!reason) return undefined;
  return {
    email,
    reason: reason as SuppressionReason,
    source: source ?? '',
    createdAt: Number(createdAt),
    ...(expiresAt ? { expiresAt: Number(expiresAt) } : {}),
  };
}
