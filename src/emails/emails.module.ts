import { Module } from '@nestjs/common';
import { GroupsModule } from '../groups/groups.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TemplatesModule } from '../templates/templates.module';
import { EmailRepository } from './email.repository';
import { EmailsService } from './emails.service';

/**
 * The email records and their acceptance: the API (EmailsController) and the SMTP ingress accept through
 * EmailsService; workers and provider callbacks read and update the records.
 */
@Module({
  imports: [QueueModule, TemplatesModule, ProvidersModule, GroupsModule, RateLimitModule],
  providers: [EmailRepository, EmailsService],
  exports: [EmailRepository, EmailsService],
})
export class EmailsModule {}
