import { Module } from '@nestjs/common';
import { GroupsModule } from '../groups/groups.module';
import { ProvidersModule } from '../providers/providers.module';
import { QueueModule } from '../queue/queue.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { TemplatesModule } from '../templates/templates.module';
import { EmailRecordsModule } from './email-records.module';
import { EmailsController } from './emails.controller';
import { EmailsService } from './emails.service';

@Module({
  imports: [EmailRecordsModule, QueueModule, TemplatesModule, ProvidersModule, GroupsModule, RateLimitModule],
  controllers: [EmailsController],
  providers: [EmailsService],
  // The SMTP ingress accepts through the same service.
  exports: [EmailsService],
})
export class EmailsModule {}
