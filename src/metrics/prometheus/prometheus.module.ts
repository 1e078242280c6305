import { Global, Module } from '@nestjs/common';
import { PrometheusMetrics } from './prometheus-metrics';

/**
 * This process's Prometheus metrics, one registry for every port (global: the API's HTTP hook, the workers, the
 * SMTP ingress and the limiters record into it). Every port serves it at `/metrics` (metricsController). The
 * cluster-wide queue figures are registered into it by QueueFiguresModule (ClusterGauges).
 */
@Global()
@Module({
  providers: [PrometheusMetrics],
  exports: [PrometheusMetrics],
})
export class PrometheusModule {}
