import { Module } from '@nestjs/common';
import { ServiceMetricsRecorder } from './service-metrics.recorder';
import { ServiceMetricsService } from './service-metrics.service';

/**
 * The per-service counters: recorded by every role that handles emails, read through the API
 * (ServiceMetricsController) and the dashboard. One recorder per process, or every event would count twice.
 */
@Module({
  providers: [ServiceMetricsRecorder, ServiceMetricsService],
  exports: [ServiceMetricsRecorder, ServiceMetricsService],
})
export class ServiceMetricsModule {}
