import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '../../auth/auth.module';
import type { AppConfig } from '../../config/app-config';
import { QueueFiguresModule } from '../../queue/queue-figures.module';
import { MetricsController, OpenMetricsController } from './metrics.controller';
import { MetricsEndpoint } from './metrics-endpoint';
import { exportsClusterFigures, PrometheusMetrics } from './prometheus-metrics';

/**
 * Prometheus metrics for every role (global: the API's HTTP hook, the worker and the probe servers record
 * into it). The api serves `/metrics` through Nest; other servers add it with `MetricsEndpoint.serve()`.
 * Processes that export the cluster-wide queue figures (api, monitor) read them through QueueFiguresService.
 */
@Module({})
export class PrometheusModule {
  static forRoles(config: AppConfig): DynamicModule {
    return {
      module: PrometheusModule,
      global: true,
      imports: [AuthModule, ...(exportsClusterFigures(config) ? [QueueFiguresModule] : [])],
      controllers: config.roles.has('api')
        ? [config.metrics.requireAuth ? MetricsController : OpenMetricsController]
        : [],
      providers: [PrometheusMetrics, MetricsEndpoint],
      exports: [PrometheusMetrics, MetricsEndpoint],
    };
  }
}
