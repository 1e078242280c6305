import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { AuthEntry } from '../config/roles';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import { addressRefused, wholeSeconds } from './rate-limit-answers';
import { UncheckedLimits } from './unchecked-limits';

type Refused = ['refused', number, number];
type CountReply = ['counted'] | Refused;
type GateReply = ['open'] | Refused;
type CounterKeys = [counter: string];
type LimitArgs = [maxFailures: number, windowMs: number];
const COUNT_FAILURE = loadScript<CounterKeys, LimitArgs, CountReply>(__dirname, 'count-auth-failure.lua');
const ADMIT_SIGN_IN = loadScript<CounterKeys, LimitArgs, GateReply>(__dirname, 'admit-sign-in.lua');

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
  private readonly countFailureScript: ScriptCommand<CounterKeys, LimitArgs, CountReply>;
  private readonly admitSignInScript: ScriptCommand<CounterKeys, LimitArgs, GateReply>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly unchecked: UncheckedLimits,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('rate-limit');
    this.countFailureScript = scriptCommand(connections.client, COUNT_FAILURE);
    this.admitSignInScript = scriptCommand(connections.client, ADMIT_SIGN_IN);
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
      answer = await this.countFailureScript(
        [this.counterOf(address, via)],
        [limit.maxFailures, limit.windowMs],
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
      answer = await this.admitSignInScript(
        [this.counterOf(address, 'dashboard')],
        [limit.maxFailures, limit.windowMs],
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
