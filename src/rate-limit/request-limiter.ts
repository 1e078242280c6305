import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { RateLimit } from '../delivery/rate-limit';
import { AppLogger } from '../logging/app-logger';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { addressRefused, apiRateLimited, rateLimitHeaders, wholeSeconds } from './rate-limit-answers';

/** Why a request failed authentication (each is a 401, and counts against its client address). */
export type AuthFailure = 'missing' | 'malformed' | 'unknown';

/** What authentication made of a request: the calling service, or why it failed. */
export type AuthOutcome = { service: string } | { failure: AuthFailure };

/**
 * One request's admission, in one step for every api replica:
 * 1. a client address with AUTH_FAILURE_LIMIT failed authentications in its window is refused until the
 *    window ends, whatever it presents (so a refusal says nothing about the token). Refusals are counted so
 *    that only the first of a window is logged;
 * 2. a failed authentication is counted against the address; the window starts with its first failure and
 *    the counter expires with it;
 * 3. an authenticated service with an API limit takes a token from its bucket (N tokens, refilled
 *    continuously at the configured rate; time from Redis's clock), or is told how long until the next one.
 *    The bucket expires once it would be full again, since a missing bucket is a full one.
 *
 * KEYS[1] the address's failure counter; KEYS[2] the service's bucket (unused for a failed authentication).
 * ARGV[1] failures allowed per window (0: not counted); ARGV[2] window in ms; ARGV[3] 1 when authentication
 * failed; ARGV[4] tokens per ms (0: no limit); ARGV[5] the bucket's size.
 * Returns {'blocked', ms left in the window, refusals so far}, {'failed'}, {'limited', ms until a token},
 * or {'allowed'} with, under a limit, the tokens left and the ms until the bucket is full.
 */
const ADMIT_SCRIPT = `
local maxFailures = tonumber(ARGV[1])
local failed = ARGV[3] == '1'
if maxFailures > 0 then
  local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
  if failures >= maxFailures then
    local refusals = redis.call('INCR', KEYS[1]) - maxFailures
    local ttl = redis.call('PTTL', KEYS[1])
    if ttl < 0 then
      ttl = tonumber(ARGV[2])
      redis.call('PEXPIRE', KEYS[1], ttl)
    end
    return {'blocked', ttl, refusals}
  end
  if failed and redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
if failed then return {'failed'} end
local rate = tonumber(ARGV[4])
if rate <= 0 then return {'allowed'} end
local burst = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[2], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if not tokens or not at then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then return {'limited', math.ceil((1 - tokens) / rate)} end
tokens = tokens - 1
local fullInMs = math.ceil((burst - tokens) / rate)
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[2], fullInMs + 1000)
return {'allowed', math.floor(tokens), fullInMs}
`;

type AdmitReply =
  ['blocked', number, number] | ['failed'] | ['limited', number] | ['allowed', number?, number?];

interface ScriptedRedis extends Redis {
  freefaceAdmitRequest(
    failuresKey: string,
    bucketKey: string,
    ...args: (string | number)[]
  ): Promise<AdmitReply>;
}

/** Where the RateLimit-* headers of an admitted request go (the fastify reply). */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/**
 * The API's request limits, shared by every api replica through Redis at one script call per request (none
 * at all when nothing applies): the per-service API rate limit and the slow-down of client addresses that
 * keep failing authentication. If Redis does not answer, requests are let through unchecked (and then fail
 * with 503 wherever they need Redis): an outage must not turn every call into a 429.
 */
@Injectable()
export class RequestLimiter {
  private readonly redis: ScriptedRedis;
  private readonly limits: ReadonlyMap<string, RateLimit | undefined>;
  private isUnchecked = false;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('rate-limit');
    this.redis = connections.client as ScriptedRedis;
    this.limits = new Map(config.auth.services.map((s) => [s.service, s.rateLimit]));
    if (!this.redis.freefaceAdmitRequest) {
      this.redis.defineCommand('freefaceAdmitRequest', { numberOfKeys: 2, lua: ADMIT_SCRIPT });
    }
  }

  /** A service's API limit: its own, else API_RATE_LIMIT (which `anonymous` gets when auth is off). */
  limitOf(service: string): RateLimit | undefined {
    return this.limits.has(service) ? this.limits.get(service) : this.config.rateLimits.api;
  }

  /**
   * Admits a request from `address`, or throws a 429 problem: the address is refused after too many failed
   * authentications (whatever this request presents), or the service is over its API limit. A failed
   * authentication is counted and returns, for the caller's 401. Sets the RateLimit-* headers of a limited
   * service on `reply`.
   */
  async admit(address: string, outcome: AuthOutcome, reply: HeaderSink): Promise<void> {
    const failures = this.config.rateLimits.authFailures;
    const failed = 'failure' in outcome;
    const limit = failed ? undefined : this.limitOf(outcome.service);
    if (!failures && !limit) return;

    const bucketKey = failed ? this.keys.authFailures(address) : this.keys.apiRateBucket(outcome.service);
    let answer: AdmitReply;
    try {
      answer = await this.redis.freefaceAdmitRequest(
        this.keys.authFailures(address),
        bucketKey,
        failures?.maxFailures ?? 0,
        failures?.windowMs ?? 0,
        failed ? 1 : 0,
        limit?.tokensPerMs ?? 0,
        limit?.burst ?? 1,
      );
    } catch (error) {
      this.letThroughUnchecked(error);
      return;
    }
    if (this.isUnchecked) {
      this.isUnchecked = false;
      this.logger.info('request limits are checked again');
    }

    switch (answer[0]) {
      case 'blocked': {
        const [, retryAfterMs, refusals] = answer;
        if (refusals === 1) {
          this.logger.warn(
            {
              ip: address,
              reason: 'too many failed authentications',
              failures: failures!.text,
              refusedForSeconds: wholeSeconds(retryAfterMs),
              ...(failed ? { attempt: outcome.failure } : {}),
            },
            'client address refused until its window ends',
          );
        }
        throw addressRefused(retryAfterMs);
      }
      case 'limited':
        throw apiRateLimited(limit!, answer[1]);
      case 'allowed': {
        const [, remaining, resetMs] = answer;
        if (limit && remaining !== undefined && resetMs !== undefined) {
          for (const [name, value] of Object.entries(rateLimitHeaders(limit, remaining, resetMs)))
            reply.header(name, value);
        }
        return;
      }
      case 'failed':
        return;
    }
  }

  private letThroughUnchecked(error: unknown): void {
    if (this.isUnchecked) return;
    this.isUnchecked = true;
    this.logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) } },
      'request limits unchecked: Redis did not answer, so requests are let through',
    );
  }
}
