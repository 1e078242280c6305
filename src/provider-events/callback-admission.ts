import { Injectable } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RouteBodyOptions } from '../common/route-bodies';
import { ProblemError } from '../common/problem-error';
import { AppConfig } from '../config/app-config';
import type { RateLimit } from '../common/rate';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { wholeSeconds } from '../rate-limit/rate-limit-answers';
import { CallbackRateLimiter, type CallbackAnswer } from './callback-rate-limiter';
import type { EventProvider } from './provider-event';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A provider's public callback: it gets the callbacks' own body limit and rate limit (CallbackAdmission). */
    providerCallback?: EventProvider;
  }
}

/** Marks a route as `provider`'s callback (CallbackAdmission gives it its limits), with its body options. */
export const ProviderCallback = (provider: EventProvider, body: RouteBodyOptions = {}) =>
  RouteConfig({ ...body, providerCallback: provider });

/** The setting the callbacks' body limit comes from, named in their 413. */
const BODY_LIMIT_SETTING = 'PROVIDER_CALLBACK_MAX_BODY_BYTES';

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
  private readonly maxBodyBytes: number;
  private readonly limit?: RateLimit;
  private isUnchecked = false;

  constructor(
    private readonly limiter: CallbackRateLimiter,
    config: AppConfig,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('provider-events');
    this.maxBodyBytes = config.providerEvents.maxBodyBytes;
    if (config.providerEvents.rateLimit) this.limit = config.providerEvents.rateLimit;
  }

  /**
   * Gives the routes marked `@ProviderCallback()` their body limit and rate limit; call it before
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
    let answer: CallbackAnswer;
    try {
      answer = await this.limiter.take(address, limit);
    } catch (error) {
      this.letThroughUnchecked(error);
      return;
    }
    if (this.isUnchecked) {
      this.isUnchecked = false;
      this.logger.info('provider callback limit checked again');
    }
    if (answer.admitted) return;
    const { retryAfterMs, refusals } = answer;
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
