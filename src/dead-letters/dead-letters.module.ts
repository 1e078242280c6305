import { Module } from '@nestjs/common';
import { QueueModule } from '../queue/queue.module';
import { DeadLetterRepository } from './dead-letter.repository';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersService } from './dead-letters.service';

@Module({
  imports: [QueueModule],
  controllers: [DeadLettersController],
  providers: [DeadLetterRepository, DeadLettersService],
  exports: [DeadLetterRepository],
})
export class DeadLettersModule {}
