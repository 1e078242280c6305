import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { QueueModule } from '../queue/queue.module';
import { DeadLetterRepository } from './dead-letter.repository';
import { DeadLettersService } from './dead-letters.service';

/** The dead-letter list and its retries, for the API (DeadLettersController) and the dashboard. */
@Module({
  imports: [QueueModule, EmailsModule],
  providers: [DeadLetterRepository, DeadLettersService],
  exports: [DeadLetterRepository, DeadLettersService],
})
export class DeadLettersModule {}
