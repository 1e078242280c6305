import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { ApiIdempotencyKey } from '../idempotency/api-idempotency-key';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { BOUNDED_SCAN_NOTE } from '../common/paging';
import { UUID_PATTERN } from '../common/ids';
import { notFound } from '../common/problem-error';
import { DeadLettersService } from './dead-letters.service';
import {
  DeadLetterPageDto,
  DeadLetterQueryDto,
  RetriedDto,
  RetriedManyDto,
  RetryAllQueryDto,
} from './dto/dead-letter.dto';

const checkId = (id: string) => {
  if (!UUID_PATTERN.test(id)) throw notFound(`Dead letter ${id.slice(0, 64)}`);
};

@ApiTags('dead letters')
@Controller('api/v1/dead-letters')
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({
    summary: 'Emails that failed permanently or ran out of attempts, newest first, with the error',
    description: BOUNDED_SCAN_NOTE,
  })
  @ApiOkResponse({ type: DeadLetterPageDto })
  @ApiProblemResponses(400, 503)
  list(@Query() query: DeadLetterQueryDto): Promise<DeadLetterPageDto> {
    return this.deadLetters.list(query);
  }

  @Post('retry')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Queue every dead letter again (or those of ?provider=) with fresh attempts' })
  @ApiAcceptedResponse({ type: RetriedManyDto })
  @ApiProblemResponses(400, 503)
  retryAll(@Query() query: RetryAllQueryDto): Promise<RetriedManyDto> {
    return this.deadLetters.retryAll(query.provider);
  }

  @Post(':id/retry')
  @ApiIdempotencyKey()
  @HttpCode(202)
  @RequireScope('admin')
  @ApiOperation({
    summary: 'Queue one dead letter again with fresh attempts; it keeps its id',
    description:
      'A 409 while a worker still holds its last job (it is finishing): retry a few seconds later.',
  })
  @ApiAcceptedResponse({ type: RetriedDto })
  @ApiProblemResponses(404, 409, 503)
  retry(@Param('id') id: string): Promise<RetriedDto> {
    checkId(id);
    return this.deadLetters.retry(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Drop one dead letter (the email stays dead)' })
  @ApiNoContentResponse({ description: 'Dropped' })
  @ApiProblemResponses(404, 503)
  async remove(@Param('id') id: string): Promise<void> {
    checkId(id);
    await this.deadLetters.remove(id);
  }
}
