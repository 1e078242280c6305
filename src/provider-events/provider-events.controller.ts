import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { ProblemError } from '../common/problem-error';
import { AppConfig } from '../config/app-config';
import { fromMailgunEvent, isMailgunSignatureValid, type MailgunSignature } from './mailgun-events';
import { ProviderEventsService } from './provider-events.service';

const refused = (detail: string) =>
  new ProblemError(401, 'unauthorized', detail, { headers: { 'www-authenticate': 'Signature' } });

/**
 * Providers' event callbacks. No service token: each is verified as its provider documents, else 401 and
 * nothing changes. A verified event for mail we did not send, or of a kind we do not track, is acknowledged
 * (200) so that the provider does not retry it.
 */
@ApiTags('provider events')
@Public()
@Controller('webhooks')
export class ProviderEventsController {
  constructor(
    private readonly events: ProviderEventsService,
    private readonly config: AppConfig,
  ) {}

  @Post('mailgun')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Mailgun's event webhook (delivered, failed, complained), signed with MAILGUN_WEBHOOK_SIGNING_KEY",
  })
  @ApiOkResponse({ schema: { example: { result: 'applied' } } })
  @ApiProblemResponses(401, 503)
  async mailgun(
    @Body() body: { signature?: Partial<MailgunSignature>; 'event-data'?: Record<string, unknown> },
  ): Promise<{ result: string }> {
    const key = this.config.providerEvents.mailgunSigningKey;
    if (!key) throw refused('Mailgun events are not accepted here: MAILGUN_WEBHOOK_SIGNING_KEY is not set.');
    if (!isMailgunSignatureValid(body?.signature, key, Date.now()))
      throw refused('The Mailgun signature is missing, wrong or too old.');
    const event = fromMailgunEvent(body['event-data']);
    return { result: event ? await this.events.apply(event) : 'ignored' };
  }
}
