import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceCallsHook } from './service-calls.hook';
import { ServiceMetricsController } from './service-metrics.controller';
import { ServiceMetricsRecorder } from './service-metrics.recorder';
import { ServiceMetricsService } from './service-metrics.service';

/** The per-service counters (every role that handles emails) and, with `withRoutes()`, their API. */
@Module({
  providers: [ServiceMetricsRecorder, ServiceMetricsService],
  exports: [ServiceMetricsRecorder, ServiceMetricsService],
})
export class ServiceMetricsModule {
  /**
   * The routes import this one module rather than declaring its providers again: a process that also runs the
   * dashboard (which imports ServiceMetricsModule) must keep one recorder, or every event would count twice.
   */
  static withRoutes(): DynamicModule {
    return {
      module: ServiceMetricsRoutesModule,
      imports: [ServiceMetricsModule],
      controllers: [ServiceMetricsController],
      providers: [ServiceCallsHook],
    };
  }
}

@Module({})
class ServiceMetricsRoutesModule {}
