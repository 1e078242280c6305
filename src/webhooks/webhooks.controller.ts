import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { RequestId } from '../common/request-id';
import { ApiIdempotencyKey, SealedIdempotentResponse } from '../idempotency/api-idempotency-key';
import {
  CreatedWebhookDto,
  CreateWebhookDto,
  DeliveryQueryDto,
  PageQueryDto,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookDto,
  WebhookPageDto,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

/**
 * Outbound webhooks: a service names a URL and the events it wants, and gets each as a signed POST (Standard
 * Webhooks). A webhook belongs to the service that made it; one made by an admin service hears every service.
 */
@ApiTags('webhooks')
@RequireScope('send')
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiIdempotencyKey()
  @SealedIdempotentResponse()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Add a webhook; the answer holds its signing secret, shown this once',
  })
  @ApiCreatedResponse({ type: CreatedWebhookDto })
  @ApiProblemResponses(400, 409, 503)
  create(@CurrentCaller() caller: Caller, @Body() dto: CreateWebhookDto): Promise<CreatedWebhookDto> {
    return this.webhooks.create(caller, dto);
  }

  @Get()
  @ApiOperation({ summary: "The caller's webhooks (admin: every service's), newest first" })
  @ApiOkResponse({ type: WebhookPageDto })
  @ApiProblemResponses(400, 503)
  list(@CurrentCaller() caller: Caller, @Query() query: PageQueryDto): Promise<WebhookPageDto> {
    return this.webhooks.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One webhook (never its secret)' })
  @ApiOkResponse({ type: WebhookDto })
  @ApiProblemResponses(404, 503)
  get(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<WebhookDto> {
    return this.webhooks.get(caller, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a webhook: no more deliveries to it, pending ones are dropped' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiProblemResponses(404, 503)
  async remove(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<void> {
    await this.webhooks.remove(caller, id);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resume a paused webhook: its held deliveries are sent again, oldest first',
    description:
      'A webhook is paused when it keeps timing out. Resuming clears the pause and the count of timeouts; ' +
      'resuming one that is not paused changes nothing. Recorded in the audit trail as webhook_resumed.',
  })
  @ApiOkResponse({ type: WebhookDto })
  @ApiProblemResponses(404, 503)
  resume(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @RequestId() requestId: string,
  ): Promise<WebhookDto> {
    return this.webhooks.resume(caller, id, requestId);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: "A webhook's deliveries, newest first; ?status=failed lists those out of retries",
  })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiProblemResponses(400, 404, 503)
  deliveries(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Query() query: DeliveryQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.listDeliveries(caller, id, query);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send a failed delivery again (same event id, fresh retries)' })
  @ApiAcceptedResponse({ type: WebhookDeliveryDto })
  @ApiProblemResponses(404, 409, 503)
  retry(
    @CurrentCaller() caller: Caller,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<WebhookDeliveryDto> {
    return this.webhooks.retryDelivery(caller, id, deliveryId);
  }
}
