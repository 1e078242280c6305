import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { HealthModule } from '../health/health.module';
import { ServiceMetricsModule } from '../metrics/service-metrics.module';
import { QueueFiguresModule } from '../queue/queue-figures.module';
import { QueueModule } from '../queue/queue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { SmtpIngressStatsModule } from '../smtp-ingress/smtp-ingress.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { WebhookStoresModule } from '../webhooks/webhook-stores.module';
import { DashboardServer } from './dashboard.server';
import { DeliveryEventFiguresService } from './delivery-event-figures';
import { DashboardOverviewService } from './overview.service';

/**
 * The monitor role: the operators' dashboard on MONITOR_PORT. It reads through the same services as the API
 * (their modules without routes, so a monitor-only process serves no API) and runs its own HTTP server;
 * failed logins count against the client address like failed API calls (RateLimitModule).
 */
@Module({
  imports: [
    QueueModule,
    QueueFiguresModule,
    DeadLettersModule,
    ServiceMetricsModule,
    HealthModule,
    SmtpIngressStatsModule,
    RateLimitModule,
    SuppressionsModule,
    WebhookStoresModule,
  ],
  providers: [DashboardOverviewService, DeliveryEventFiguresService, DashboardServer],
})
export class DashboardModule {}
