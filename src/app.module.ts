import { type DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { DashboardModule } from './dashboard/dashboard.module';
import { monitorPort } from './dashboard/monitor.module';
import { DeadLettersModule } from './dead-letters/dead-letters.module';
import { DeliveryModule } from './delivery/delivery.module';
import { EmailsModule } from './emails/emails.module';
import { EventsModule } from './events/events.module';
import { GroupsModule } from './groups/groups.module';
import { HealthModule } from './health/health.module';
import { apiPort } from './http/api.module';
import type { HttpPort } from './http/http-ports';
import { probesPort } from './http/probes.module';
import { LoggingModule } from './logging/logging.module';
import { PrometheusModule } from './metrics/prometheus/prometheus.module';
import { ServiceMetricsModule } from './service-metrics/service-metrics.module';
import { ProviderEventsModule } from './provider-events/provider-events.module';
import { QueueFiguresModule } from './queue-figures/queue-figures.module';
import { QueueModule } from './queue/queue.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { ReconcilerModule } from './reconciler/reconciler.module';
import { RedisModule } from './redis/redis.module';
import { SmtpIngressModule } from './smtp-ingress/smtp-ingress.module';
import { SuppressionsModule } from './suppressions/suppressions.module';
import { TemplatesModule } from './templates/templates.module';
import { WebhookDeliveryModule, WebhooksModule } from './webhooks/webhooks.module';

/**
 * Every process's providers: configuration, logging, Redis, the event bus, queues, the audit trail, metrics,
 * readiness, and the token and limit checks every port's guard uses.
 */
const COMMON = [
  LoggingModule,
  RedisModule,
  EventsModule,
  QueueModule,
  AuditModule,
  ServiceMetricsModule,
  PrometheusModule,
  HealthModule,
  AuthModule,
  RateLimitModule,
];

/** What each role adds: the services of its routes, and what takes work (processors, the SMTP server). */
const ROLE_MODULES = {
  api: [
    EmailsModule,
    GroupsModule,
    TemplatesModule,
    DeadLettersModule,
    SuppressionsModule,
    ProviderEventsModule,
    WebhooksModule,
    QueueFiguresModule,
  ],
  worker: [DeliveryModule, ReconcilerModule, WebhookDeliveryModule],
  monitor: [DashboardModule, DeadLettersModule, QueueFiguresModule],
  smtp: [SmtpIngressModule],
} as const;

@Module({})
export class AppModule {
  /**
   * The process's providers for its roles, and no controller: each port adds its own (AppModule.ports).
   * An api-only process never imports a processor, so it never takes jobs.
   */
  static forRoles(config: AppConfig): DynamicModule {
    const modules = [...new Set([...COMMON, ...[...config.roles].flatMap((role) => ROLE_MODULES[role])])];
    return {
      module: AppModule,
      imports: [
        {
          module: ConfigHolderModule,
          global: true,
          providers: [{ provide: AppConfig, useValue: config }],
          exports: [AppConfig],
        },
        ...modules,
      ],
      exports: modules,
    };
  }

  /**
   * The ports of the process's roles, each a Nest application with its own controllers: the api's (PORT)
   * first, since the first holds the providers (src/http/http-ports.ts), then the monitor's (MONITOR_PORT), the
   * worker's probes (WORKER_HEALTH_PORT) and the smtp role's (SMTP_HEALTH_PORT).
   */
  static ports(config: AppConfig, version: string): HttpPort[] {
    const { roles } = config;
    return [
      ...(roles.has('api') ? [apiPort(config, version)] : []),
      ...(roles.has('monitor') ? [monitorPort(config)] : []),
      ...(roles.has('worker') ? [probesPort('worker', config)] : []),
      ...(roles.has('smtp') ? [probesPort('smtp', config)] : []),
    ];
  }
}

/** Holds the configuration provider; global so every module can inject AppConfig. */
@Module({})
class ConfigHolderModule {}
