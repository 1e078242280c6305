import { Module } from '@nestjs/common';
import { QueueFiguresService } from './queue-figures.service';
import { QueueModule } from './queue.module';
import { QueuesController } from './queues.controller';

/** `GET /api/v1/queues`, for processes that serve the API. */
@Module({
  imports: [QueueModule],
  controllers: [QueuesController],
  providers: [QueueFiguresService],
  exports: [QueueFiguresService],
})
export class QueueFiguresModule {}
