import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { RawBody } from '../common/route-bodies';
import { ProviderCallback } from './callback-admission';
import { AppConfig } from '../config/app-config';
import { ApiCallbackLimits, ApiCallbackReplayed, callbackRefused } from './callback-problems';
import { fromMailgunEvent, isMailgunSignatureValid, type MailgunSignature } from './mailgun-events';
import { ProviderEventsService, type ProviderEventResult } from './provider-events.service';
import {
  fromSendGridEvent,
  isSendGridSignatureValid,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
} from './sendgrid-events';
import { SesNotificationsService, type SesCallbackAnswer } from './ses-notifications.service';

/**
 * Providers' event callbacks. No service token: each is verified as its provider documents, else 401 and
 * nothing changes. A verified event for mail we did not send, or of a kind we do not track, is acknowledged
 * (200) so that the provider does not retry it.
 */
@ApiTags('provider events')
@ApiCallbackLimits()
@Public()
@Controller('webhooks')
export class ProviderEventsController {
  constructor(
    private readonly events: ProviderEventsService,
    private readonly sesNotifications: SesNotificationsService,
    private readonly config: AppConfig,
  ) {}

  @Post('mailgun')
  @HttpCode(200)
  @ProviderCallback('mailgun')
  @ApiOperation({
    summary:
      "Mailgun's event webhook (delivered, failed, complained), signed with MAILGUN_WEBHOOK_SIGNING_KEY",
  })
  @ApiOkResponse({ schema: { example: { result: 'applied' } } })
  @ApiProblemResponses(401, 503)
  @ApiCallbackReplayed()
  async mailgun(
    @Body() body: { signature?: Partial<MailgunSignature>; 'event-data'?: Record<string, unknown> },
  ): Promise<{ result: string }> {
    const key = this.config.providerEvents.mailgunSigningKey;
    if (!key)
      throw callbackRefused('Mailgun events are not accepted here: MAILGUN_WEBHOOK_SIGNING_KEY is not set.');
    if (!isMailgunSignatureValid(body?.signature, key, Date.now()))
      throw callbackRefused('The Mailgun signature is missing, wrong or too old.');
    await this.events.claimMailgunToken(body.signature.token);
    const event = fromMailgunEvent(body['event-data']);
    return { result: event ? await this.events.apply(event) : 'ignored' };
  }

  @Post('sendgrid')
  @HttpCode(200)
  @ProviderCallback('sendgrid', { keepRaw: true })
  @ApiOperation({
    summary:
      "SendGrid's Event Webhook (delivered, bounce, dropped, spamreport), a JSON array signed with the key of " +
      'SENDGRID_WEBHOOK_PUBLIC_KEY (ECDSA, X-Twilio-Email-Event-Webhook-Signature and -Timestamp headers)',
  })
  @ApiBody({ schema: { type: 'array', items: { type: 'object' } } })
  @ApiOkResponse({ schema: { example: { results: ['applied', 'ignored'] } } })
  @ApiProblemResponses(400, 401, 503)
  async sendgrid(
    @RawBody() rawBody: Buffer | undefined,
    @Body() body: unknown,
    @Headers(SENDGRID_SIGNATURE_HEADER) signature?: string,
    @Headers(SENDGRID_TIMESTAMP_HEADER) timestamp?: string,
  ): Promise<{ results: ProviderEventResult[] }> {
    const key = this.config.providerEvents.sendgridPublicKey;
    if (!key)
      throw callbackRefused('SendGrid events are not accepted here: SENDGRID_WEBHOOK_PUBLIC_KEY is not set.');
    if (!isSendGridSignatureValid({ signature, timestamp, rawBody }, key, Date.now()))
      throw callbackRefused('The SendGrid signature is missing, wrong or too old.');
    const batch = Array.isArray(body) ? (body as unknown[]) : [];
    return { results: await this.events.applyAll(batch.map(fromSendGridEvent)) };
  }

  @Post('ses')
  @HttpCode(200)
  @ProviderCallback('ses', { textPlainAsJson: true })
  @ApiOperation({
    summary:
      'Amazon SES events (Delivery, Bounce, Complaint) through an Amazon SNS HTTP(S) subscription: ' +
      'subscription confirmations and notifications, signed by SNS, from a topic of SES_SNS_TOPIC_ARNS',
  })
  @ApiConsumes('text/plain', 'application/json')
  @ApiBody({ schema: { type: 'object', description: 'An Amazon SNS message (JSON, sent as text/plain)' } })
  @ApiOkResponse({ schema: { example: { results: ['applied'] } } })
  @ApiProblemResponses(400, 401, 503)
  ses(@Body() body: unknown): Promise<SesCallbackAnswer> {
    return this.sesNotifications.receive(body);
  }
}
