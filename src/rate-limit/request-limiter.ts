import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { RateLimit } from '../delivery/rate-limit';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { apiRateLimited, rateLimitHeaders } from './rate-limit-answers';
import { UncheckedLimits } from './unchecked-limits';

/**
 * Takes one call from a service's token bucket, in one step for every api replica: N tokens, refilled
 * continuously at the configured rate (time from Redis's clock), or how long until the next one. The bucket
 * expires once it would be full again, since a missing bucket is a full one.
 * KEYS[1] the service's bucket. ARGV[1] tokens per ms; ARGV[2] the bucket's size.
 * Returns {'limited', ms until a token} or {'allowed', tokens left, ms until the bucket is full}.
 */
const TAKE_CALL_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if not tokens or not at then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then return {'limited', math.ceil((1 - tokens) / rate)} end
tokens = tokens - 1
local fullInMs = math.ceil((burst - tokens) / rate)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], fullInMs + 1000)
return {'allowed', math.floor(tokens), fullInMs}
`;

type TakeReply = ['limited', number] | ['allowed', number, number];

interface ScriptedRedis extends Redis {
  freefaceTakeApiCall(bucketKey: string, tokensPerMs: number, burst: number): Promise<TakeReply>;
}

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
  private readonly redis: ScriptedRedis;
  private readonly limits: ReadonlyMap<string, RateLimit | undefined>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly unchecked: UncheckedLimits,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.limits = new Map(config.auth.services.map((s) => [s.service, s.rateLimit]));
    if (!this.redis.freefaceTakeApiCall) {
      this.redis.defineCommand('freefaceTakeApiCall', { numberOfKeys: 1, lua: TAKE_CALL_SCRIPT });
    }
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
      answer = await this.redis.freefaceTakeApiCall(
        this.keys.apiRateBucket(service),
        limit.tokensPerMs,
        limit.burst,
      );
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
