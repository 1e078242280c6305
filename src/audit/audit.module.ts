import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { AuditWriter } from './audit.writer';

/** The audit writer (every role that handles emails) and, with `withRoutes()`, the API to read the trail. */
@Module({
  providers: [AuditRepository, AuditWriter],
  exports: [AuditWriter],
})
export class AuditModule {
  static withRoutes() {
    return { module: AuditModule, controllers: [AuditController], providers: [AuditService] };
  }
}
