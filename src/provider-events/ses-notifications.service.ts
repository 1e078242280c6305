import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { callbackRefused, providerUnreachable } from './callback-problems';
import { ProviderEventsService, type ProviderEventResult } from './provider-events.service';
import { fromSesNotification } from './ses-events';
import { SnsEndpoints, SnsUnreachableError } from './sns-endpoints';
import { isSnsSignatureValid, isSnsTimestampFresh, parseSnsMessage, type SnsMessage } from './sns-message';

/** The answer to SNS: a confirmation's outcome, or what became of each recipient's event of a notification. */
export type SesCallbackAnswer = { result: 'subscribed' | 'ignored' } | { results: ProviderEventResult[] };

/**
 * Amazon SES's events, as Amazon SNS delivers them to an HTTP(S) subscription. Each message is verified as
 * AWS documents it (the signature, over the documented fields, against the certificate at a SigningCertURL
 * that matches SNS_CERT_URL_PATTERN) and must come from a topic of SES_SNS_TOPIC_ARNS: SNS signs every
 * topic's messages, including a topic anyone can create in an AWS account of their own, subscribe this URL to
 * and publish made-up bounces on. A verified subscription confirmation is confirmed; a notification's events
 * are applied.
 */
@Injectable()
export class SesNotificationsService {
  private readonly topics: ReadonlySet<string>;
  private readonly endpoints: SnsEndpoints;

  constructor(
    config: AppConfig,
    private readonly events: ProviderEventsService,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('provider-events');
    const settings = config.providerEvents;
    this.topics = new Set(settings.sesTopicArns);
    this.endpoints = new SnsEndpoints(new RegExp(settings.snsCertUrlPattern));
  }

  /** Verifies one SNS POST (else 401, or 503 when SNS could not be asked) and acts on it. */
  async receive(body: unknown): Promise<SesCallbackAnswer> {
    const message = await this.verified(body);
    switch (message.Type) {
      case 'SubscriptionConfirmation':
        return this.confirm(message);
      case 'UnsubscribeConfirmation':
        // Someone unsubscribed this endpoint; re-subscribing is the operator's call, not ours.
        this.logger.warn({ topicArn: message.TopicArn }, 'SNS unsubscribed this endpoint from an SES topic');
        return { result: 'ignored' };
      case 'Notification':
        return this.apply(message);
    }
  }

  private async verified(body: unknown): Promise<SnsMessage> {
    if (this.topics.size === 0)
      throw callbackRefused('SES events are not accepted here: SES_SNS_TOPIC_ARNS is not set.');
    const message = parseSnsMessage(body);
    if (!message) throw callbackRefused('The body is not a signed Amazon SNS message.');
    // Checked before anything is fetched: only messages claiming one of our topics cost a request to SNS.
    if (!this.topics.has(message.TopicArn))
      throw callbackRefused('The SNS message comes from a topic not listed in SES_SNS_TOPIC_ARNS.');
    const now = Date.now();
    if (!isSnsTimestampFresh(message, now))
      throw callbackRefused('The SNS message is too old, or dated in the future.');
    if (!this.endpoints.isTrusted(message.SigningCertURL))
      throw callbackRefused('The SigningCertURL does not match SNS_CERT_URL_PATTERN.');
    const publicKey = await this.reachingSns(() => this.endpoints.publicKey(message.SigningCertURL, now));
    if (!publicKey) throw callbackRefused('There is no valid signing certificate at the SigningCertURL.');
    if (!isSnsSignatureValid(message, publicKey)) throw callbackRefused('The SNS signature is wrong.');
    return message;
  }

  private async confirm(message: SnsMessage): Promise<SesCallbackAnswer> {
    const url = message.SubscribeURL!;
    if (!this.endpoints.isTrusted(url))
      throw callbackRefused('The SubscribeURL does not match SNS_CERT_URL_PATTERN.');
    await this.reachingSns(() => this.endpoints.confirmSubscription(url));
    this.logger.info({ topicArn: message.TopicArn }, 'SNS subscription to an SES topic confirmed');
    return { result: 'subscribed' };
  }

  /**
   * One event per recipient the notification names. Our email is named by the notification itself (the
   * X-Email-Id header, the email_id tag) or found by SES's message id; events of mail we did not send are
   * ignored, like those we do not track.
   */
  private async apply(message: SnsMessage): Promise<SesCallbackAnswer> {
    const events = fromSesNotification(message.MessageId, message.Message);
    if (events.length === 0) return { result: 'ignored' };
    // Every event of a notification is about the same message.
    const { emailId: named, sesMessageId } = events[0]!;
    const emailId =
      named ?? (sesMessageId ? await this.events.emailIdOfProviderMessage('ses', sesMessageId) : undefined);
    const results = await this.events.applyAll(
      events.map(({ eventId, kind, recipient, code }) =>
        emailId
          ? { provider: 'ses', eventId, kind, emailId, recipient, ...(code !== undefined ? { code } : {}) }
          : undefined,
      ),
    );
    return { results };
  }

  /** Runs a request to SNS; SNS unreachable is a 503, so that SNS delivers the message again later. */
  private async reachingSns<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof SnsUnreachableError)) throw error;
      this.logger.warn({ reason: error.message }, 'Amazon SNS unreachable while verifying an SES callback');
      throw providerUnreachable('Amazon SNS could not be reached to verify the message; SNS will retry.');
    }
  }
}
