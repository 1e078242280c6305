import { Global, Module } from '@nestjs/common';
import { AuditStore } from './audit.store';
import { AuditService } from './audit.service';
import { AuditWriter } from './audit.writer';

/**
 * The audit trail: written by every role that handles emails, read through the API (AuditController).
 * Global: the one writer of a process serves every module that records something (webhooks record theirs).
 */
@Global()
@Module({
  providers: [AuditStore, AuditWriter, AuditService],
  exports: [AuditWriter, AuditService],
})
export class AuditModule {}
