import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ServiceTokenGuard } from '../auth/service-token.guard';
import { ProblemDetailsFilter } from './problem-details.filter';
import type { AppConfig } from '../config/app-config';
import { HealthController } from '../health/health.controller';
import { metricsController } from './metrics.controller';
import type { HttpPort } from './http-ports';

/** Request bodies have nowhere to go here: the routes are GETs. */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The port of a role that serves no HTTP API of its own (the worker's WORKER_HEALTH_PORT, the smtp role's
 * SMTP_HEALTH_PORT): `/health` and `/health/ready` for Kubernetes, and the process's `/metrics` for Prometheus.
 */
@Module({})
export class ProbesModule {
  static forPort(config: AppConfig): DynamicModule {
    return {
      module: ProbesModule,
      controllers: [HealthController, metricsController(config)],
      providers: [
        { provide: APP_GUARD, useClass: ServiceTokenGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}

export function probesPort(role: 'worker' | 'smtp', config: AppConfig): HttpPort {
  return {
    role,
    port: role === 'worker' ? config.http.workerHealthPort : config.smtpIngress.healthPort,
    module: ProbesModule.forPort(config),
    bodyLimit: BODY_LIMIT_BYTES,
  };
}
