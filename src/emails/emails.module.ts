import { Module } from '@nestjs/common';
import { GroupsModule } from '../groups/groups.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TemplatesModule } from '../templates/templates.module';
import { EmailRecordsModule } from './email-records.module';
import { EmailsController } from './emails.controller';
import { EmailAcceptanceService } from './email-acceptance.service';
import { EmailCancellationService } from './email-cancellation.service';
import { EmailIntake } from './email-intake';
import { EmailPreparer } from './email-preparer';
import { EmailQueriesService } from './email-queries.service';

@Module({
  imports: [EmailRecordsModule, QueueModule, TemplatesModule, ProvidersModule, GroupsModule, RateLimitModule],
  controllers: [EmailsController],
  providers: [
    EmailPreparer,
    EmailIntake,
    EmailAcceptanceService,
    EmailCancellationService,
    EmailQueriesService,
  ],
  // The SMTP ingress accepts through the same service.
  exports: [EmailAcceptanceService],
})
export class EmailsModule {}
