import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScope } from '../auth/auth.decorators';
import { ApiIdempotencyKey } from '../idempotency/api-idempotency-key';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { BOUNDED_SCAN_NOTE } from '../common/paging';
import { UUID_PATTERN } from '../common/ids';
import { notFound } from '../common/problem-error';
import { RequestId } from '../common/request-id';
import {
  EmailAcceptedDto,
  EmailCancelledDto,
  EmailListDto,
  EmailListQueryDto,
  EmailStatusDto,
} from './dto/email-response.dto';
import { SendEmailDto } from './dto/send-email.dto';
import { BatchAcceptedDto, GroupAcceptedDto, SendBatchDto, SendGroupDto } from './dto/send-many.dto';
import { EmailAcceptanceService } from './email-acceptance.service';
import { EmailCancellationService } from './email-cancellation.service';
import { EmailQueriesService } from './email-queries.service';

@ApiTags('emails')
@Controller('api/v1/emails')
export class EmailsController {
  constructor(
    private readonly acceptance: EmailAcceptanceService,
    private readonly cancellation: EmailCancellationService,
    private readonly queries: EmailQueriesService,
  ) {}

  @Post()
  @ApiIdempotencyKey()
  @HttpCode(202)
  @RequireScope('send')
  @ApiOperation({
    summary: 'Accept one email for delivery',
    description:
      'Answers at once with the id; a worker delivers it. Poll GET /api/v1/emails/{id} for its status.',
  })
  @ApiAcceptedResponse({
    type: EmailAcceptedDto,
    headers: { Location: { description: 'The status URL of the email', schema: { type: 'string' } } },
  })
  @ApiHeader({
    name: 'X-Request-Id',
    required: false,
    description: 'Echoed back; a new one is made when absent',
  })
  @ApiProblemResponses(400, 413, 415, 422, 503)
  async send(
    @CurrentCaller() caller: Caller,
    @Body() dto: SendEmailDto,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EmailAcceptedDto> {
    const accepted = await this.acceptance.accept(caller, dto, requestId);
    void reply.header('location', `/api/v1/emails/${accepted.id}`);
    return accepted;
  }

  @Post('batch')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @RequireScope('send')
  @ApiOperation({
    summary: 'Accept up to 500 emails at once, all or none',
    description:
      'Every email is validated and rendered first; one bad email refuses the batch, naming it (emails[3].to[0]).',
  })
  @ApiAcceptedResponse({ type: BatchAcceptedDto })
  @ApiProblemResponses(400, 413, 415, 422, 503)
  sendBatch(
    @CurrentCaller() caller: Caller,
    @Body() dto: SendBatchDto,
    @RequestId() requestId: string,
  ): Promise<BatchAcceptedDto> {
    return this.acceptance.acceptBatch(caller, dto.emails, requestId);
  }

  @Post('group')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @RequireScope('send')
  @ApiOperation({
    summary: 'One template to up to 10,000 recipients, personalised for each',
    description:
      "Shared data merged with each recipient's own (theirs wins; `recipient` holds { email, name }); one email " +
      'each, sharing a groupId. A recipient whose data does not render refuses the group, naming the recipient.',
  })
  @ApiAcceptedResponse({ type: GroupAcceptedDto })
  @ApiProblemResponses(400, 413, 415, 422, 503)
  sendGroup(
    @CurrentCaller() caller: Caller,
    @Body() dto: SendGroupDto,
    @RequestId() requestId: string,
  ): Promise<GroupAcceptedDto> {
    return this.acceptance.acceptGroup(caller, dto, requestId);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: "The caller's emails, newest first, by status if asked",
    description: BOUNDED_SCAN_NOTE,
  })
  @ApiOkResponse({ type: EmailListDto })
  @ApiProblemResponses(400, 503)
  list(@CurrentCaller() caller: Caller, @Query() query: EmailListQueryDto): Promise<EmailListDto> {
    return this.queries.list(caller, query);
  }

  @Delete(':id')
  @RequireScope('send')
  @ApiOperation({ summary: 'Cancel a scheduled, queued or retrying email (409 once it is sending or sent)' })
  @ApiOkResponse({ type: EmailCancelledDto })
  @ApiProblemResponses(404, 409, 503)
  cancel(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<EmailCancelledDto> {
    if (!UUID_PATTERN.test(id)) throw notFound(`Email ${id.slice(0, 64)}`);
    return this.cancellation.cancel(caller, id);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: "An email's status" })
  @ApiOkResponse({ type: EmailStatusDto })
  @ApiProblemResponses(404, 503)
  get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<EmailStatusDto> {
    if (!UUID_PATTERN.test(id)) throw notFound(`Email ${id.slice(0, 64)}`);
    return this.queries.get(caller, id);
  }
}
