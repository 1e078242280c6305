import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { notFound, ProblemError } from '../common/problem-error';
import { AuditStore } from './audit.store';
import type { AuditPageDto, AuditQueryDto } from './dto/audit.dto';

const DEFAULT_PAGE = 50;

/** Reading the audit trail: a service sees its own events; an admin sees everyone's. */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditStore) {}

  async ofEmail(caller: Caller, emailId: string): Promise<AuditPageDto> {
    const entries = await this.audit.ofEmail(emailId);
    // Another service's email answers exactly like an unknown one.
    if (entries.length === 0 || (entries[0]!.service !== caller.service && !caller.isAdmin)) {
      throw notFound(`Audit trail of email ${emailId}`);
    }
    return { items: entries, nextCursor: null };
  }

  async query(caller: Caller, query: AuditQueryDto): Promise<AuditPageDto> {
    if (query.service && query.service !== caller.service && !caller.isAdmin) {
      throw new ProblemError(
        403,
        'forbidden',
        "Reading another service's audit trail needs the admin scope.",
      );
    }
    const service = query.service ?? (caller.isAdmin ? undefined : caller.service);
    const limit = query.limit ?? DEFAULT_PAGE;
    const { entries, nextCursor } = await this.audit.query({
      limit,
      ...(service ? { service } : {}),
      ...(query.event ? { event: query.event } : {}),
      ...(query.from ? { fromMs: Date.parse(query.from) } : {}),
      ...(query.to ? { toMs: Date.parse(query.to) } : {}),
      ...(query.cursor ? { after: query.cursor } : {}),
    });
    return { items: entries, nextCursor: nextCursor ?? null };
  }
}
