import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { ServiceMetricsModule } from '../service-metrics/service-metrics.module';
import { QueueFiguresModule } from '../queue-figures/queue-figures.module';
import { QueueModule } from '../queue/queue.module';
import { SmtpIngressStatsModule } from '../smtp-ingress/smtp-ingress.module';
import { SuppressionsModule } from '../suppressions/suppressions.module';
import { WebhookStoresModule } from '../webhooks/webhook-stores.module';
import { DeliveryEventFiguresService } from './delivery-event-figures';
import { DashboardOverviewService } from './overview.service';

/**
 * The monitor role's figures: the dashboard's overview, read through the same services as the API. Its port
 * is MonitorModule's.
 */
@Module({
  imports: [
    QueueModule,
    QueueFiguresModule,
    DeadLettersModule,
    ServiceMetricsModule,
    SmtpIngressStatsModule,
    SuppressionsModule,
    WebhookStoresModule,
  ],
  providers: [DashboardOverviewService, DeliveryEventFiguresService],
  exports: [DashboardOverviewService],
})
export class DashboardModule {}
