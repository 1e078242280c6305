import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import { dailyByteQuotaReached, dailyQuotaReached, utcDay } from './rate-limit-answers';

/** A day's counter outlives its day, so a late release still finds it; then it expires on its own. */
const COUNTER_TTL_MS = 2 * 86_400_000;

/** ARGV value for a quota that does not apply: its counter is neither checked nor kept. */
const NO_QUOTA = -1;

type QuotaKeys = [emails: string, bytes: string];
type QuotaArgs = [count: number, quota: number, bytes: number, byteQuota: number, ttlMs: number];
type QuotaReply = [1] | [0, 'emails' | 'bytes', number];
const TAKE_QUOTA = loadScript<QuotaKeys, QuotaArgs, QuotaReply>(__dirname, 'take-daily-quota.lua');

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
  private readonly redis: RedisClient;
  private readonly takeQuota: ScriptCommand<QuotaKeys, QuotaArgs, QuotaReply>;
  private readonly quotas: ReadonlyMap<string, number>;
  private readonly byteQuotas: ReadonlyMap<string, number | undefined>;
  /** The byte quota of a service that is not configured (`anonymous` without authentication). */
  private readonly defaultByteQuota: number | undefined;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.quotas = new Map(
      config.auth.services.flatMap((s) => (s.dailyQuota ? [[s.service, s.dailyQuota] as const] : [])),
    );
    this.byteQuotas = new Map(config.auth.services.map((s) => [s.service, s.dailyByteQuota]));
    this.defaultByteQuota = config.rateLimits.dailyByteQuota;
    this.takeQuota = scriptCommand(this.redis, TAKE_QUOTA);
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
    const reply = await this.takeQuota(
      [emailsKey, bytesKey],
      [count, quota ?? NO_QUOTA, bytes, byteQuota ?? NO_QUOTA, COUNTER_TTL_MS],
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
