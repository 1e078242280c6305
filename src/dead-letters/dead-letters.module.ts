import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { QueueModule } from '../queue/queue.module';
import { DeadLetterStore } from './dead-letter.store';
import { DeadLettersService } from './dead-letters.service';

/** The dead-letter list and its retries, for the API (DeadLettersController) and the dashboard. */
@Module({
  imports: [QueueModule, EmailsModule],
  providers: [DeadLetterStore, DeadLettersService],
  exports: [DeadLetterStore, DeadLettersService],
})
export class DeadLettersModule {}
