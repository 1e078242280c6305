import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { RateLimit } from '../common/rate';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import { apiRateLimited, rateLimitHeaders } from './rate-limit-answers';
import { UncheckedLimits } from './unchecked-limits';

type TakeReply = ['limited', number] | ['allowed', number, number];
type BucketArgs = [tokensPerMs: number, burst: number];
const TAKE_CALL = loadScript<[bucket: string], BucketArgs, TakeReply>(__dirname, 'take-api-call.lua');

/** Where the RateLimit-* headers of an admitted request go (the fastify reply). */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * The per-service API rate limit, shared by every api replica through Redis at one script call per call of a
 * limited service (none for an unlimited one). Failed authentications are AuthFailureLimiter's. If Redis does
 * not answer, calls are let through unchecked (and then fail with 503 wherever they need Redis).
 */
@Injectable()
export class RequestLimiter {
  private readonly takeCall: ScriptCommand<[bucket: string], BucketArgs, TakeReply>;
  private readonly limits: ReadonlyMap<string, RateLimit | undefined>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly unchecked: UncheckedLimits,
  ) {
    this.limits = new Map(config.auth.services.map((s) => [s.service, s.rateLimit]));
    this.takeCall = scriptCommand(connections.client, TAKE_CALL);
  }

  /** A service's API limit: its own, else API_RATE_LIMIT (which `anonymous` gets when auth is off). */
  limitOf(service: string): RateLimit | undefined {
    return this.limits.has(service) ? this.limits.get(service) : this.config.rateLimits.api;
  }

  /**
   * Admits a call of an authenticated `service`, or throws a 429 problem with Retry-After when it is over its
   * API limit. Sets the RateLimit-* headers of a limited service on `reply`.
   */
  async admit(service: string, reply: HeaderSink): Promise<void> {
    const limit = this.limitOf(service);
    if (!limit) return;
    let answer: TakeReply;
    try {
      answer = await this.takeCall([this.keys.apiRateBucket(service)], [limit.tokensPerMs, limit.burst]);
    } catch (error) {
      this.unchecked.letThrough(error);
      return;
    }
    this.unchecked.checked();
    if (answer[0] === 'limited') throw apiRateLimited(limit, answer[1]);
    const [, remaining, resetMs] = answer;
    for (const [name, value] of Object.entries(rateLimitHeaders(limit, remaining, resetMs)))
      reply.header(name, value);
  }
}
