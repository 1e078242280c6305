import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertScope, authenticate, presentedToken } from '../../auth/service-token.guard';
import { ServiceTokenVerifier } from '../../auth/service-token.verifier';
import { AppConfig } from '../../config/app-config';
import { sendProblem, toProblem } from '../../common/problem-details.filter';
import { AppLogger } from '../../logging/app-logger';
import { PrometheusMetrics } from './prometheus-metrics';

/** Where every FreeFace server serves its metrics. */
export const METRICS_PATH = '/metrics';

export interface MetricsEndpointDeps {
  metrics: PrometheusMetrics;
  verifier: ServiceTokenVerifier;
  config: AppConfig;
  /** Hears refused tokens (malformed, unknown), as the API's guard logs them. */
  onRefused?: (reason: 'malformed' | 'unknown', request: FastifyRequest) => void;
}

/** Whether `/metrics` asks for a token: unless METRICS_AUTH=false (or authentication is off altogether). */
export const metricsNeedToken = (config: AppConfig): boolean =>
  config.metrics.requireAuth && config.auth.enabled;

/**
 * Serves `GET /metrics` on a fastify server of our own (the worker's probe port, the monitor's port), with the
 * API's rule: a service token with the `read` scope (401/403 problem+json otherwise), unless METRICS_AUTH=false.
 * Register it outside any other auth hook of that server (basic auth would lock the scraper out).
 */
export function serveMetrics(server: FastifyInstance, deps: MetricsEndpointDeps): void {
  server.get(METRICS_PATH, async (request: FastifyRequest, reply: FastifyReply) => {
    if (metricsNeedToken(deps.config)) {
      try {
        const caller = authenticate(
          presentedToken(request.headers),
          deps.verifier,
          deps.config.auth,
          (reason) => deps.onRefused?.(reason, request),
        );
        assertScope(caller, 'read');
      } catch (error) {
        sendProblem(reply, toProblem(error), String(request.id));
        return reply;
      }
    }
    const { contentType, body } = await deps.metrics.exposition();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}

/** `serveMetrics` with this process's dependencies, for servers built inside Nest (probe and monitor servers). */
@Injectable()
export class MetricsEndpoint {
  constructor(
    private readonly metrics: PrometheusMetrics,
    private readonly verifier: ServiceTokenVerifier,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('auth');
  }

  /** Adds `GET /metrics` to `server` (before it listens). */
  serve(server: FastifyInstance): void {
    if (metricsNeedToken(this.config) && this.config.auth.services.length === 0) {
      this.logger.warn(
        'no SERVICE_TOKEN_<NAME>_PRIMARY is configured in this process, so /metrics refuses every scrape: ' +
          "configure the scraper's token (scope read) here too, or set METRICS_AUTH=false",
      );
    }
    serveMetrics(server, {
      metrics: this.metrics,
      verifier: this.verifier,
      config: this.config,
      onRefused: (reason, request) => this.logger.warn({ reason, ip: request.ip }, 'service token refused'),
    });
  }
}
