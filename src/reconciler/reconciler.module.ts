import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { QueueModule } from '../queue/queue.module';
import { Reconciler } from './reconciler.service';
import { ReconcilerStore } from './reconciler.store';

/** The reconciler: worker processes only, one of them sweeping at a time. */
@Module({
  imports: [QueueModule, EmailsModule],
  providers: [ReconcilerStore, Reconciler],
})
export class ReconcilerModule {}
