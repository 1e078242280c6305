import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ServiceTokenGuard } from '../auth/service-token.guard';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { AppConfig } from '../config/app-config';
import { HealthController, HEALTH_PATHS } from '../health/health.controller';
import type { HttpPort } from '../http/http-ports';
import { AppLogger } from '../logging/app-logger';
import { METRICS_PATH, metricsController } from '../http/metrics.controller';
import { EmailQueue } from '../queue/email-queue';
import { WebhookQueue } from '../queue/webhook-queue';
import { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { registerBullBoard } from './bull-board';
import { DashboardController } from './dashboard.controller';
import { addSecurityHeaders, refuseCrossOriginChanges } from './dashboard-http';
import { requireSignIn } from './sign-in';

/** The dashboard reads bodies of a few bytes at most (the Retry button posts none). */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * The monitor role's port (MONITOR_PORT): the operators' dashboard, bull-board at `/queues`, and `/health`,
 * `/health/ready` and `/metrics`. Everything but those three is behind basic auth (sign-in.ts); `/metrics`
 * asks for its own service token, like on every port.
 */
@Module({})
export class MonitorModule {
  static forPort(config: AppConfig): DynamicModule {
    return {
      module: MonitorModule,
      controllers: [DashboardController, HealthController, metricsController(config)],
      providers: [
        { provide: APP_GUARD, useClass: ServiceTokenGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}

export function monitorPort(config: AppConfig): HttpPort {
  return {
    role: 'monitor',
    port: config.http.monitorPort,
    module: MonitorModule.forPort(config),
    bodyLimit: BODY_LIMIT_BYTES,
    prepare: (app, providers) => prepareMonitor(app, providers),
  };
}

/** The port's fastify hooks and bull-board, before Nest registers the routes. */
async function prepareMonitor(
  app: NestFastifyApplication,
  providers: INestApplicationContext,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const config = providers.get(AppConfig);
  const logger = await providers.resolve(AppLogger);
  logger.setContext('dashboard');
  addSecurityHeaders(fastify);
  const credentials = config.dashboard.credentials;
  if (credentials) {
    await requireSignIn(fastify, {
      credentials,
      failures: providers.get(AuthFailureLimiter),
      openRoutes: new Set([...HEALTH_PATHS, METRICS_PATH]),
      onFailure: (failure) => logger.warn(failure, 'dashboard login failed'),
    });
  } else {
    logger.warn(
      'DASHBOARD_USER and DASHBOARD_PASSWORD are not set: the dashboard is open to anyone who reaches MONITOR_PORT (development only)',
    );
  }
  refuseCrossOriginChanges(fastify, logger);
  // After the hooks, which its routes inherit: the sign-in and the headers cover them too.
  const tiers = providers.get(EmailQueue).inTiers();
  const queues = [
    ...tiers.flatMap((tier) =>
      tier.map((queue, partition) => ({ queue, label: tier.length > 1 ? `p${partition} ` : '' })),
    ),
    { queue: providers.get(WebhookQueue).queue, label: '' },
  ];
  await registerBullBoard(fastify, queues, '/queues');
}
