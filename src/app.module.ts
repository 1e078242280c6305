import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ServiceTokenGuard } from './auth/service-token.guard';
import { AuthModule } from './auth/auth.module';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { validationPipe } from './common/validation-pipe';
import { AppConfig } from './config/app-config';
import { AuditModule } from './audit/audit.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { EventsModule } from './events/events.module';
import { DeliveryModule } from './delivery/delivery.module';
import { EmailsModule } from './emails/emails.module';
import { HealthModule } from './health/health.module';
import { IdempotencyGuard } from './idempotency/idempotency.guard';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { ProviderEventsModule } from './provider-events/provider-events.module';
import { SuppressionsModule } from './suppressions/suppressions.module';
import { LoggingModule } from './logging/logging.module';
import { PrometheusModule } from './metrics/prometheus/prometheus.module';
import { ServiceMetricsModule } from './metrics/service-metrics.module';
import { QueueFiguresModule } from './queue/queue-figures.module';
import { ReconcilerModule } from './reconciler/reconciler.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { SmtpIngressModule } from './smtp-ingress/smtp-ingress.module';
import { TemplatesModule } from './templates/templates.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /**
   * The modules a process needs for its roles: configuration, logging, Redis, queues, health and Prometheus
   * metrics always; the REST API for `api`; job processing for `worker`; the dashboard (its own HTTP server on
   * MONITOR_PORT) for `monitor`. An api-only process never takes jobs.
   */
  static forRoles(config: AppConfig): DynamicModule {
    const serveApi = config.roles.has('api');
    return {
      module: AppModule,
      imports: [
        {
          module: ConfigHolderModule,
          global: true,
          providers: [{ provide: AppConfig, useValue: config }],
          exports: [AppConfig],
        },
        LoggingModule,
        RedisModule,
        EventsModule,
        // The trail and the counters are written by every process that handles emails; read through the API.
        serveApi ? AuditModule.withRoutes() : AuditModule,
        serveApi ? ServiceMetricsModule.withRoutes() : ServiceMetricsModule,
        PrometheusModule.forRoles(config),
        serveApi ? HealthModule.withRoutes() : HealthModule,
        ...(serveApi
          ? [
              EmailsModule,
              TemplatesModule,
              DeadLettersModule.withRoutes(),
              QueueFiguresModule.withRoutes(),
              IdempotencyModule,
              SuppressionsModule.withRoutes(),
              ProviderEventsModule,
            ]
          : []),
        ...(config.roles.has('worker') ? [DeliveryModule, ReconcilerModule] : []),
        ...(serveApi || config.roles.has('worker')
          ? [WebhooksModule.forRoles({ routes: serveApi, deliver: config.roles.has('worker') })]
          : []),
        ...(config.roles.has('monitor') ? [DashboardModule] : []),
        ...(config.roles.has('smtp') ? [SmtpIngressModule] : []),
        // The API's guard checks tokens (so does /metrics on the other roles' ports, through PrometheusModule)
        // and applies the request limits.
        ...(serveApi ? [AuthModule, RateLimitModule] : []),
      ],
      providers: serveApi
        ? [
            // Global guards run in this order: the token names the service an Idempotency-Key belongs to.
            { provide: APP_GUARD, useClass: ServiceTokenGuard },
            { provide: APP_GUARD, useExisting: IdempotencyGuard },
            { provide: APP_FILTER, useClass: ProblemDetailsFilter },
            { provide: APP_PIPE, useValue: validationPipe },
          ]
        : [],
    };
  }
}

/** Holds the configuration provider; global so every module can inject AppConfig. */
@Module({})
class ConfigHolderModule {}
