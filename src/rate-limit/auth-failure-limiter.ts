import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { addressRefused, wholeSeconds } from './rate-limit-answers';
import { UncheckedLimits } from './unchecked-limits';

/** Where credentials were presented: the REST API, the SMTP ingress or the monitor's dashboard. */
export type AuthEntry = 'api' | 'smtp' | 'dashboard';

/**
 * Counts one failed authentication against a client address, in one step for every replica. The window
 * starts with the address's first failure and the counter expires with it; past the limit the counter goes
 * on (so that only the first refusal of a window is logged) without moving the window's end.
 * KEYS[1] the address's counter. ARGV[1] failures allowed per window; ARGV[2] the window in ms.
 * Returns {'counted'} within the limit, else {'refused', ms left in the window, refusals so far}.
 */
const COUNT_FAILURE_SCRIPT = `
local maxFailures = tonumber(ARGV[1])
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count <= maxFailures then return {'counted'} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {'refused', ttl, count - maxFailures}
`;

/**
 * Before a sign-in is checked: an address whose failures have reached the limit is refused, and the refusal
 * counts on (so only the first one of a window is logged); otherwise nothing changes.
 * KEYS[1] the address's counter. ARGV[1] failures allowed per window; ARGV[2] the window in ms.
 * Returns {'open'}, or {'refused', ms left in the window, refusals so far}.
 */
const GATE_SCRIPT = `
local maxFailures = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < maxFailures then return {'open'} end
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {'refused', ttl, count - maxFailures}
`;

type Refused = ['refused', number, number];
type CountReply = ['counted'] | Refused;
type GateReply = ['open'] | Refused;

interface ScriptedRedis extends Redis {
  freefaceCountAuthFailure(key: string, maxFailures: number, windowMs: number): Promise<CountReply>;
  freefaceAuthGate(key: string, maxFailures: number, windowMs: number): Promise<GateReply>;
}

/**
 * AUTH_FAILURE_LIMIT: failed authentications per client address, counted in Redis for every replica.
 * Tokens (API and SMTP ingress, one count): only attempts that fail are counted and refused; a caller that
 * presents a valid token never asks this class anything, so no one can lock a service out by failing from
 * (or claiming) its address, and 160 random bits make guessing hopeless anyway. Dashboard sign-ins have a
 * count of their own, and past it every sign-in is refused before its password is looked at: a password
 * chosen by a person can be guessed, and a throttle that still let the right guess in would slow nothing.
 * Failed API calls from a shared address therefore never lock operators out of the dashboard.
 * The address is the one TRUST_PROXY lets the server believe.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly redis: ScriptedRedis;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly unchecked: UncheckedLimits,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('rate-limit');
    this.redis = connections.client as ScriptedRedis;
    if (!this.redis.freefaceCountAuthFailure) {
      this.redis.defineCommand('freefaceCountAuthFailure', { numberOfKeys: 1, lua: COUNT_FAILURE_SCRIPT });
      this.redis.defineCommand('freefaceAuthGate', { numberOfKeys: 1, lua: GATE_SCRIPT });
    }
  }

  /**
   * Counts a failed authentication from `address` (`attempt` says what was wrong with it, for the log) and
   * returns, for the caller's own refusal (401, 535); throws a 429 problem with Retry-After instead once
   * the address is past AUTH_FAILURE_LIMIT in its window. Lets it through uncounted when Redis does not answer.
   */
  async countFailure(address: string, via: AuthEntry, attempt: string): Promise<void> {
    const limit = this.config.rateLimits.authFailures;
    if (!limit) {
      this.metrics.recordAuthFailure(via, 'counted');
      return;
    }
    let answer: CountReply;
    try {
      answer = await this.redis.freefaceCountAuthFailure(
        this.counterOf(address, via),
        limit.maxFailures,
        limit.windowMs,
      );
    } catch (error) {
      this.unchecked.letThrough(error);
      this.metrics.recordAuthFailure(via, 'counted');
      return;
    }
    this.unchecked.checked();
    if (answer[0] === 'counted') {
      this.metrics.recordAuthFailure(via, 'counted');
      return;
    }
    this.refuse(answer, address, via, attempt);
  }

  /**
   * Before a dashboard sign-in is checked: throws the 429 problem once the address's failed sign-ins have
   * reached the limit, whatever this one holds. Lets it through when Redis does not answer.
   */
  async admitSignIn(address: string): Promise<void> {
    const limit = this.config.rateLimits.authFailures;
    if (!limit) return;
    let answer: GateReply;
    try {
      answer = await this.redis.freefaceAuthGate(
        this.counterOf(address, 'dashboard'),
        limit.maxFailures,
        limit.windowMs,
      );
    } catch (error) {
      this.unchecked.letThrough(error);
      return;
    }
    this.unchecked.checked();
    if (answer[0] === 'refused') this.refuse(answer, address, 'dashboard', 'sign-in past the limit');
  }

  private counterOf(address: string, via: AuthEntry): string {
    return via === 'dashboard' ? this.keys.dashboardSignInFailures(address) : this.keys.authFailures(address);
  }

  /** Counts and throws a refusal; the first of a window is logged, the rest would only flood the log. */
  private refuse(
    [, retryAfterMs, refusals]: Refused,
    address: string,
    via: AuthEntry,
    attempt: string,
  ): never {
    const limit = this.config.rateLimits.authFailures!;
    this.metrics.recordAuthFailure(via, 'refused');
    if (refusals === 1) {
      this.logger.warn(
        {
          ip: address,
          via,
          reason: 'too many failed authentications',
          failures: limit.text,
          refusedForSeconds: wholeSeconds(retryAfterMs),
          attempt,
        },
        'client address refused until its window ends',
      );
    }
    throw addressRefused(retryAfterMs);
  }
}
