import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { ProviderStateModule } from '../delivery/provider-state.module';
import { EmailsModule } from '../emails/emails.module';
import { WebhookStoresModule } from '../webhooks/webhook-stores.module';
import { ClusterGauges } from './cluster-gauges';
import { QueueFiguresService } from './queue-figures.service';
import { QueueModule } from '../queue/queue.module';

/**
 * The queue figures (`GET /api/v1/queues`, the dashboard, the cluster gauges of `/metrics`). Apart from
 * QueueModule because they read the owners of what they count (records, dead letters, circuits, webhooks),
 * which themselves need the queues.
 */
@Module({
  imports: [QueueModule, EmailsModule, DeadLettersModule, ProviderStateModule, WebhookStoresModule],
  providers: [QueueFiguresService, ClusterGauges],
  exports: [QueueFiguresService],
})
export class QueueFiguresModule {}
