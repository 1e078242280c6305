import { Global, Module } from '@nestjs/common';
import { QueueFiguresModule } from '../../queue/queue-figures.module';
import { PrometheusMetrics } from './prometheus-metrics';

/**
 * This process's Prometheus metrics, one registry for every port (global: the API's HTTP hook, the workers, the
 * SMTP ingress and the limiters record into it). Every port serves it at `/metrics` (metricsController).
 * Processes that export the cluster-wide queue figures (api, monitor) read them through QueueFiguresService.
 */
@Global()
@Module({
  imports: [QueueFiguresModule],
  providers: [PrometheusMetrics],
  exports: [PrometheusMetrics],
})
export class PrometheusModule {}
