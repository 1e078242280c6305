import { Module } from '@nestjs/common';
import { EmailRecordsModule } from '../emails/email-records.module';
import { QueueModule } from '../queue/queue.module';
import { Reconciler } from './reconciler.service';
import { ReconcilerStore } from './reconciler.store';

/** The reconciler: worker processes only, one of them sweeping at a time. */
@Module({
  imports: [QueueModule, EmailRecordsModule],
  providers: [ReconcilerStore, Reconciler],
})
export class ReconcilerModule {}
