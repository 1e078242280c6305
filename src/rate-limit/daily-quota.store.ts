import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { dailyByteQuotaReached, dailyQuotaReached, utcDay } from './rate-limit-answers';

/** A day's counter outlives its day, so a late release still finds it; then it expires on its own. */
const COUNTER_TTL_MS = 2 * 86_400_000;

/** ARGV value for a quota that does not apply: its counter is neither checked nor kept. */
const NO_QUOTA = -1;

/**
 * Takes `count` emails and `bytes` bytes from a service's quotas of the day, all or none, in one step for
 * every api replica. A quota of -1 does not apply (its counter is left alone).
 * KEYS[1] the day's email counter, KEYS[2] its byte counter. ARGV[1] count; ARGV[2] the email quota; ARGV[3]
 * bytes; ARGV[4] the byte quota; ARGV[5] the counters' lifetime in ms.
 * Returns {1} when taken, or (nothing counted) {0, 'emails' or 'bytes', what that counter holds}.
 */
const TAKE_SCRIPT = `
local counters = {
  {KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 'emails'},
  {KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), 'bytes'},
}
for _, c in ipairs(counters) do
  if c[3] >= 0 then
    local used = tonumber(redis.call('GET', c[1]) or '0')
    if used + c[2] > c[3] then return {0, c[4], used} end
  end
end
for _, c in ipairs(counters) do
  if c[3] >= 0 then
    redis.call('INCRBY', c[1], c[2])
    redis.call('PEXPIRE', c[1], ARGV[5])
  end
end
return {1}
`;

interface ScriptedRedis extends Redis {
  freefaceTakeDailyQuota(
    emailsKey: string,
    bytesKey: string,
    count: number,
    quota: number,
    bytes: number,
    byteQuota: number,
    ttlMs: number,
  ): Promise<[1] | [0, 'emails' | 'bytes', number]>;
}

/** Emails and bytes taken from the quotas; `release()` gives them back when they could not be stored after all. */
export interface QuotaReservation {
  release(): Promise<void>;
}

/**
 * The daily quotas of a service, counted in Redis so that every api replica shares them:
 * `SERVICE_TOKEN_<NAME>_DAILY_QUOTA`, how many emails it may have accepted per UTC day (a batch of 10 is 10,
 * a group one per recipient), and `SERVICE_TOKEN_<NAME>_DAILY_BYTE_QUOTA` (else `DAILY_BYTE_QUOTA`), how many
 * bytes those emails may store for their delivery (see storedBytes), so that no tenant can fill Redis. Both
 * are taken before anything is written; a request that would exceed either is refused whole.
 */
@Injectable()
export class DailyQuotaStore {
  private readonly redis: ScriptedRedis;
  private readonly quotas: ReadonlyMap<string, number>;
  private readonly byteQuotas: ReadonlyMap<string, number | undefined>;
  /** The byte quota of a service that is not configured (`anonymous` without authentication). */
  private readonly defaultByteQuota: number | undefined;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.quotas = new Map(
      config.auth.services.flatMap((s) => (s.dailyQuota ? [[s.service, s.dailyQuota] as const] : [])),
    );
    this.byteQuotas = new Map(config.auth.services.map((s) => [s.service, s.dailyByteQuota]));
    this.defaultByteQuota = config.rateLimits.dailyByteQuota;
    if (!this.redis.freefaceTakeDailyQuota) {
      this.redis.defineCommand('freefaceTakeDailyQuota', { numberOfKeys: 2, lua: TAKE_SCRIPT });
    }
  }

  /**
   * Takes `count` emails storing `bytes` from the service's quotas of today (UTC), or throws a 429 problem
   * with Retry-After until midnight UTC and counts nothing. Without a quota, no Redis call and nothing to
   * release.
   */
  async take(
    service: string,
    count: number,
    bytes: number,
    now = Date.now(),
  ): Promise<QuotaReservation | undefined> {
    const quota = this.quotas.get(service);
    const byteQuota = this.byteQuotas.has(service) ? this.byteQuotas.get(service) : this.defaultByteQuota;
    if ((quota === undefined && byteQuota === undefined) || count === 0) return undefined;
    const day = utcDay(now);
    const [emailsKey, bytesKey] = [
      this.keys.dailyQuota(service, day),
      this.keys.dailyByteQuota(service, day),
    ];
    const reply = await this.redis.freefaceTakeDailyQuota(
      emailsKey,
      bytesKey,
      count,
      quota ?? NO_QUOTA,
      bytes,
      byteQuota ?? NO_QUOTA,
      COUNTER_TTL_MS,
    );
    if (reply[0] === 0) {
      const [, counter, used] = reply;
      throw counter === 'emails'
        ? dailyQuotaReached(quota!, used, count, now)
        : dailyByteQuotaReached(byteQuota!, used, count, bytes, now);
    }
    return {
      release: async () => {
        const pipeline = this.redis.pipeline();
        if (quota !== undefined) pipeline.decrby(emailsKey, count);
        if (byteQuota !== undefined) pipeline.decrby(bytesKey, bytes);
        await pipeline.exec();
      },
    };
  }
}
