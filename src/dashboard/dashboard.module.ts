import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { ServiceMetricsModule } from '../metrics/service-metrics.module';
import { QueueModule } from '../queue/queue.module';
import { SmtpIngressStatsModule } from '../smtp-ingress/smtp-ingress.module';
import { DashboardOverviewService } from './overview.service';

/**
 * The monitor role's figures: the dashboard's overview, read through the same services as the API. Its port
 * is MonitorModule's.
 */
@Module({
  imports: [QueueModule, DeadLettersModule, ServiceMetricsModule, SmtpIngressStatsModule],
  providers: [DashboardOverviewService],
  exports: [DashboardOverviewService],
})
export class DashboardModule {}
