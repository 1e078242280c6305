import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { ApiIdempotencyKey } from '../idempotency/api-idempotency-key';
import {
  CreateSuppressionDto,
  SuppressionDto,
  SuppressionPageDto,
  SuppressionQueryDto,
} from './dto/suppression.dto';
import { SuppressionsService } from './suppressions.service';

@ApiTags('suppressions')
@Controller('api/v1/suppressions')
export class SuppressionsController {
  constructor(private readonly suppressions: SuppressionsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary: 'Suppressed addresses, newest first; ?email= looks one up. One list for all services',
  })
  @ApiOkResponse({ type: SuppressionPageDto })
  @ApiProblemResponses(400, 503)
  list(@Query() query: SuppressionQueryDto): Promise<SuppressionPageDto> {
    return this.suppressions.list(query);
  }

  @Post()
  @ApiIdempotencyKey()
  @HttpCode(201)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Suppress an address: emails to it leave it out from now on' })
  @ApiCreatedResponse({ type: SuppressionDto })
  @ApiProblemResponses(400, 503)
  add(@CurrentCaller() caller: Caller, @Body() dto: CreateSuppressionDto): Promise<SuppressionDto> {
    return this.suppressions.add(caller, dto);
  }

  @Delete(':email')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Take an address off the list' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblemResponses(404, 503)
  async remove(@Param('email') email: string): Promise<void> {
    await this.suppressions.remove(email);
  }
}
