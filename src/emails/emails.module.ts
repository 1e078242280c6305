import { Module } from '@nestjs/common';
import { GroupsModule } from '../groups/groups.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TemplatesModule } from '../templates/templates.module';
import { EmailAcceptanceService } from './email-acceptance.service';
import { EmailCancellationService } from './email-cancellation.service';
import { EmailIntake } from './email-intake';
import { EmailPreparer } from './email-preparer';
import { EmailQueriesService } from './email-queries.service';
import { EmailStore } from './email.store';
import { GroupDataStore } from './group-data.store';

/**
 * The email records (and a group's shared data) and the use cases on them: accepting (the API's
 * EmailsController and the SMTP ingress), cancelling and reading. Workers, provider callbacks, dead letters
 * and the figures read and update the records through EmailStore.
 */
@Module({
  imports: [QueueModule, TemplatesModule, ProvidersModule, GroupsModule, RateLimitModule],
  providers: [
    EmailStore,
    GroupDataStore,
    EmailPreparer,
    EmailIntake,
    EmailAcceptanceService,
    EmailCancellationService,
    EmailQueriesService,
  ],
  exports: [
    EmailStore,
    GroupDataStore,
    EmailAcceptanceService,
    EmailCancellationService,
    EmailQueriesService,
  ],
})
export class EmailsModule {}
