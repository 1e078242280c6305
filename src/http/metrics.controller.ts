import { Controller, Get, Injectable, Res, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, RequireScope } from '../auth/auth.decorators';
import type { AppConfig } from '../config/app-config';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';

const EXAMPLE = `# HELP freeface_emails_sent_total Emails a provider accepted
# TYPE freeface_emails_sent_total counter
freeface_emails_sent_total{service="billing",provider="smtp",priority="medium"} 42
`;

/** Where every port of FreeFace serves its process's metrics. */
export const METRICS_PATH = '/metrics';

/** `GET /metrics` on every port; the two controllers below differ only in who may call it (metricsController). */
@Injectable()
abstract class MetricsRoute {
  constructor(private readonly metrics: PrometheusMetrics) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics of this process (text exposition format)',
    description:
      'Emails accepted/sent/failed/dead-lettered by service, provider and priority, send latency, rate-limit ' +
      'waits, HTTP latency by route, queue depths, circuits and process metrics. See docs/METRICS.md.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text format 0.0.4',
    content: { 'text/plain': { schema: { type: 'string', example: EXAMPLE } } },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const { contentType, body } = await this.metrics.exposition();
    void reply.header('content-type', contentType).header('cache-control', 'no-store');
    return body;
  }
}

/** `/metrics` behind a service token with the `read` scope (the default); scrapes are never rate limited. */
@ApiTags('operations')
@RequireScope('read', { rateLimited: false })
@Controller(METRICS_PATH)
export class MetricsController extends MetricsRoute {}

/** `/metrics` open to any caller (METRICS_AUTH=false: a scraper inside the cluster network). */
@ApiTags('operations')
@Public()
@Controller(METRICS_PATH)
export class OpenMetricsController extends MetricsRoute {}

/** The `/metrics` controller METRICS_AUTH asks for. */
export function metricsController(config: AppConfig): Type {
  return config.metrics.requireAuth ? MetricsController : OpenMetricsController;
}
