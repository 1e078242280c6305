import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScope } from '../auth/auth.decorators';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { UUID_PATTERN } from '../common/ids';
import { notFound } from '../common/problem-error';
import { RequestId } from '../common/request-id';
import { EmailAcceptedDto, EmailStatusDto } from './dto/email-response.dto';
import { SendEmailDto } from './dto/send-email.dto';
import { EmailsService } from './emails.service';

@ApiTags('emails')
@Controller('api/v1/emails')
export class EmailsController {
  constructor(private readonly emails: EmailsService) {}

  @Post()
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
    const accepted = await this.emails.accept(caller, dto, requestId);
    void reply.header('location', `/api/v1/emails/${accepted.id}`);
    return accepted;
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: "An email's status" })
  @ApiOkResponse({ type: EmailStatusDto })
  @ApiProblemResponses(404, 503)
  get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<EmailStatusDto> {
    if (!UUID_PATTERN.test(id)) throw notFound(`Email ${id.slice(0, 64)}`);
    return this.emails.get(caller, id);
  }
}
