import { type DynamicModule, Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { ProviderStateModule } from '../delivery/provider-state.module';
import { EmailRecordsModule } from '../emails/email-records.module';
import { WebhookStoresModule } from '../webhooks/webhook-stores.module';
import { QueueFiguresService } from './queue-figures.service';
import { QueueModule } from './queue.module';
import { QueuesController } from './queues.controller';

/** The queue figures (the API and the dashboard) and, with `withRoutes()`, `GET /api/v1/queues`. */
@Module({
  imports: [QueueModule, EmailRecordsModule, DeadLettersModule, ProviderStateModule, WebhookStoresModule],
  providers: [QueueFiguresService],
  exports: [QueueFiguresService],
})
export class QueueFiguresModule {
  static withRoutes(): DynamicModule {
    return {
      module: QueueFiguresRoutesModule,
      imports: [QueueFiguresModule],
      controllers: [QueuesController],
    };
  }
}

@Module({})
class QueueFiguresRoutesModule {}
