import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { BOUNDED_SCAN_NOTE } from '../common/paging';
import { UUID_PATTERN } from '../common/ids';
import { notFound } from '../common/problem-error';
import { AuditService } from './audit.service';
import { AuditPageDto, AuditQueryDto } from './dto/audit.dto';

@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'The audit trail, newest first: the caller’s own (admin: everyone’s, or ?service=)',
    description:
      'Kept AUDIT_RETENTION_DAYS. Filters: service, event, from and to (inclusive, on `at`). Newest first in the ' +
      'order recorded: processes write in batches within 20 ms, so events of different processes may be that ' +
      'much out of time order. No message body or secret is ever in it. ' +
      BOUNDED_SCAN_NOTE,
  })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblemResponses(400, 503)
  query(@CurrentCaller() caller: Caller, @Query() query: AuditQueryDto): Promise<AuditPageDto> {
    return this.audit.query(caller, query);
  }

  @Get(':emailId')
  @RequireScope('read')
  @ApiOperation({ summary: 'Every event of one email, oldest first' })
  @ApiOkResponse({ type: AuditPageDto })
  @ApiProblemResponses(404, 503)
  ofEmail(@CurrentCaller() caller: Caller, @Param('emailId') emailId: string): Promise<AuditPageDto> {
    if (!UUID_PATTERN.test(emailId)) throw notFound(`Audit trail of email ${emailId.slice(0, 64)}`);
    return this.audit.ofEmail(caller, emailId);
  }
}
