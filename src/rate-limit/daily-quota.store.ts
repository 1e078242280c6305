import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { dailyQuotaReached, utcDay } from './rate-limit-answers';

/** A day's counter outlives its day, so a late release still finds it; then it expires on its own. */
const COUNTER_TTL_MS = 2 * 86_400_000;

/**
 * Takes `count` emails from a service's quota of the day, all or none, in one step for every api replica.
 * KEYS[1] the day's counter. ARGV[1] count; ARGV[2] the quota; ARGV[3] the counter's lifetime in ms.
 * Returns {1, used} when taken, {0, used} (nothing counted) when it would exceed the quota.
 */
const TAKE_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local count = tonumber(ARGV[1])
if used + count > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], count)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, used}
`;

interface ScriptedRedis extends Redis {
  freefaceTakeDailyQuota(key: string, count: number, quota: number, ttlMs: number): Promise<[0 | 1, number]>;
}

/** Emails taken from a quota; `release()` gives them back when they could not be stored after all. */
export interface QuotaReservation {
  release(): Promise<void>;
}

/**
 * `SERVICE_TOKEN_<NAME>_DAILY_QUOTA`: how many emails a service may have accepted per UTC day, counted in
 * Redis so that every api replica shares it. Emails are counted one by one (a batch of 10 is 10, a group
 * one per recipient), before anything is written; a request that would exceed the quota is refused whole.
 */
@Injectable()
export class DailyQuotaStore {
  private readonly redis: ScriptedRedis;
  private readonly quotas: ReadonlyMap<string, number>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.quotas = new Map(
      config.auth.services.flatMap((s) => (s.dailyQuota ? [[s.service, s.dailyQuota] as const] : [])),
    );
    if (!this.redis.freefaceTakeDailyQuota) {
      this.redis.defineCommand('freefaceTakeDailyQuota', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    }
  }

  /**
   * Takes `count` emails from the service's quota of today (UTC), or throws a 429 problem with Retry-After
   * until midnight UTC and counts nothing. Without a quota, no Redis call and nothing to release.
   */
  async take(service: string, count: number, now = Date.now()): Promise<QuotaReservation | undefined> {
    const quota = this.quotas.get(service);
    if (quota === undefined || count === 0) return undefined;
    const key = this.keys.dailyQuota(service, utcDay(now));
    const [taken, used] = await this.redis.freefaceTakeDailyQuota(key, count, quota, COUNTER_TTL_MS);
    if (!taken) throw dailyQuotaReached(quota, used, count, now);
    return { release: () => this.redis.decrby(key, count).then(() => undefined) };
  }
}
