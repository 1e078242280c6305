import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { HealthModule } from '../health/health.module';
import { ServiceMetricsModule } from '../metrics/service-metrics.module';
import { QueueFiguresModule } from '../queue/queue-figures.module';
import { QueueModule } from '../queue/queue.module';
import { SmtpIngressStatsModule } from '../smtp-ingress/smtp-ingress.module';
import { DashboardServer } from './dashboard.server';
import { DashboardOverviewService } from './overview.service';

/**
 * The monitor role: the operators' dashboard on MONITOR_PORT. It reads through the same services as the API
 * (their modules without routes, so a monitor-only process serves no API) and runs its own HTTP server.
 */
@Module({
  imports: [
    QueueModule,
    QueueFiguresModule,
    DeadLettersModule,
    ServiceMetricsModule,
    HealthModule,
    SmtpIngressStatsModule,
  ],
  providers: [DashboardOverviewService, DashboardServer],
})
export class DashboardModule {}
