import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { AuditWriter } from './audit.writer';

/**
 * The audit writer (every role that handles emails) and, with `withRoutes()`, the API to read the trail.
 * Global: the one writer of a process serves every module that records something (webhooks record theirs).
 */
@Global()
@Module({
  providers: [AuditRepository, AuditWriter],
  exports: [AuditWriter],
})
export class AuditModule {
  static withRoutes() {
    return { module: AuditModule, controllers: [AuditController], providers: [AuditService] };
  }
}
