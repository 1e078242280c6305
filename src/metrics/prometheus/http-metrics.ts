import type { FastifyInstance } from 'fastify';
import type { PrometheusMetrics } from './prometheus-metrics';

/**
 * Times every request a fastify server answers into `freeface_http_request_duration_seconds`, labelled with
 * the route pattern it matched (`/api/v1/emails/:id`), never the raw URL. One histogram update per request.
 */
export function observeHttpRequests(server: FastifyInstance, metrics: PrometheusMetrics): void {
  server.addHook('onResponse', (request, reply, done) => {
    metrics.observeHttpRequest(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
}
