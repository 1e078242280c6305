import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type Redis from 'ioredis';
import { ProblemError } from '../common/problem-error';
import { AppConfig } from '../config/app-config';
import type { RateLimit } from '../delivery/rate-limit';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { wholeSeconds } from '../rate-limit/rate-limit-answers';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { EventProvider } from './provider-event';

/** The setting the callbacks' body limit comes from, named in their 413. */
const BODY_LIMIT_SETTING = 'PROVIDER_CALLBACK_MAX_BODY_BYTES';

/**
 * Takes a token from a client address's bucket of provider callbacks (N tokens, refilled continuously at the
 * configured rate; time from Redis's clock, shared by every replica). The bucket expires once it would be full
 * again, since a missing bucket is a full one. Refusals since the last admitted callback are counted, so that
 * only the first of a run is logged.
 * KEYS[1] the address's bucket. ARGV[1] tokens per ms, ARGV[2] the bucket's size.
 * Returns {1} when admitted, else {0, ms until a token, refusals in this run}.
 */
const TAKE_SCRIPT = `
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if not tokens or not at then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  local refused = redis.call('HINCRBY', KEYS[1], 'refused', 1)
  return {0, math.ceil((1 - tokens) / rate), refused}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now, 'refused', 0)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {1}
`;

interface ScriptedRedis extends Redis {
  freefaceTakeCallbackToken(
    bucketKey: string,
    tokensPerMs: number,
    burst: number,
  ): Promise<[1] | [0, number, number]>;
}

/**
 * The public provider-callback routes' own limits. They take no service token, so neither the per-service
 * API limit nor MAX_BODY_BYTES (sized for emails with attachments) fits them: each gets
 * PROVIDER_CALLBACK_MAX_BODY_BYTES (enforced by fastify while reading, so a larger body is refused before it is
 * read whole, by its Content-Length when it has one), and each client address may make
 * PROVIDER_CALLBACK_RATE_LIMIT callbacks, all routes together, checked before the body is read: 429
 * problem+json with Retry-After, which every provider answers by trying again later. If Redis does not
 * answer, callbacks are let through unchecked (applying them needs Redis anyway, and answers 503).
 */
@Injectable()
export class CallbackAdmission {
  private readonly redis: ScriptedRedis;
  private readonly maxBodyBytes: number;
  private readonly limit?: RateLimit;
  private isUnchecked = false;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('provider-events');
    this.redis = connections.client as ScriptedRedis;
    this.maxBodyBytes = config.providerEvents.maxBodyBytes;
    if (config.providerEvents.rateLimit) this.limit = config.providerEvents.rateLimit;
    if (!this.redis.freefaceTakeCallbackToken)
      this.redis.defineCommand('freefaceTakeCallbackToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  /**
   * Gives the routes marked `RouteBody({ providerCallback })` their body limit and rate limit; call it before
   * the app's init, which registers the routes.
   */
  guard(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      const provider = route.config?.providerCallback;
      if (!provider) return;
      route.bodyLimit = this.maxBodyBytes;
      route.config = { ...route.config, bodyLimitSetting: BODY_LIMIT_SETTING };
      if (!this.limit) return;
      const hooks = route.onRequest === undefined ? [] : [route.onRequest].flat();
      route.onRequest = [...hooks, (request) => this.admit(request, provider)];
    });
  }

  /** Takes a token for the request's client address, or throws the 429 problem (with Retry-After). */
  private async admit(request: FastifyRequest, provider: EventProvider): Promise<void> {
    const limit = this.limit!;
    const address = request.ip;
    let answer: [1] | [0, number, number];
    try {
      answer = await this.redis.freefaceTakeCallbackToken(
        this.keys.callbackRateBucket(address),
        limit.tokensPerMs,
        limit.burst,
      );
    } catch (error) {
      this.letThroughUnchecked(error);
      return;
    }
    if (this.isUnchecked) {
      this.isUnchecked = false;
      this.logger.info('provider callback limit checked again');
    }
    if (answer[0] === 1) return;
    const [, retryAfterMs, refusals] = answer;
    this.metrics.recordRejectedCallback(provider, 'rate_limited');
    if (refusals === 1)
      this.logger.warn(
        { ip: address, provider, limit: limit.text },
        'provider callbacks from this address are over PROVIDER_CALLBACK_RATE_LIMIT: refused until a token is back',
      );
    const seconds = wholeSeconds(retryAfterMs);
    throw new ProblemError(
      429,
      'rate-limited',
      `Too many provider callbacks from this address (PROVIDER_CALLBACK_RATE_LIMIT ${limit.text}); retry after ${seconds} s.`,
      { headers: { 'retry-after': String(seconds) } },
    );
  }

  private letThroughUnchecked(error: unknown): void {
    if (this.isUnchecked) return;
    this.isUnchecked = true;
    this.logger.warn(
      { err: { message: error instanceof Error ? error.message : String(error) } },
      'provider callback limit unchecked: Redis did not answer, so callbacks are let through',
    );
  }
}
