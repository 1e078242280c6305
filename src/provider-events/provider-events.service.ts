import { Injectable } from '@nestjs/common';
import { EmailStore } from '../emails/email.store';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { normalizeAddress, SuppressionStore } from '../suppressions/suppression.store';
import { callbackReplayed } from './callback-problems';
import { MailgunTokenStore } from './mailgun-token.store';
import type { EventProvider, ProviderEvent } from './provider-event';
import { ProviderEventStore } from './provider-event.store';

/** What became of a provider's event: 'ignored' when it was nothing to apply (a kind or mail we do not track). */
export type ProviderEventResult = 'applied' | 'duplicate' | 'unknown-email' | 'ignored';

/**
 * What providers report after a send (delivered, bounced, complained): the email's status and audit trail,
 * and the suppression list for hard bounces and complaints (soft bounces are not reported here).
 */
@Injectable()
export class ProviderEventsService {
  constructor(
    private readonly store: ProviderEventStore,
    private readonly emails: EmailStore,
    private readonly mailgunTokens: MailgunTokenStore,
    private readonly suppressions: SuppressionStore,
    private readonly events: EmailEvents,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('provider-events');
  }

  /**
   * Applies a batch's events one after the other, in the provider's order; `undefined` (an event the caller
   * found nothing to apply in) is 'ignored'. Returns what became of each, for the answer to the provider.
   */
  async applyAll(events: readonly (ProviderEvent | undefined)[]): Promise<ProviderEventResult[]> {
    const results: ProviderEventResult[] = [];
    for (const event of events) results.push(event ? await this.apply(event) : 'ignored');
    return results;
  }

  /** Our email's id under a provider's id of its message, where delivery kept one. */
  emailIdOfProviderMessage(provider: EventProvider, messageId: string): Promise<string | undefined> {
    return this.store.emailIdOfProviderMessage(provider, messageId);
  }

  /**
   * Refuses (406) a Mailgun callback whose token was used before, by any replica: Mailgun signs only the
   * timestamp and token, so the same signature with other event data would otherwise be accepted again.
   */
  async claimMailgunToken(token: string): Promise<void> {
    if (await this.mailgunTokens.claim(token)) return;
    this.metrics.recordRejectedCallback('mailgun', 'replayed');
    this.logger.warn(
      { provider: 'mailgun' },
      'provider callback refused: its signature token was used before',
    );
    throw callbackReplayed('This signature was used before: each Mailgun callback is accepted once.');
  }

  /**
   * Applies an event; returns what became of it, for the answer to the provider and the tests. An event
   * about an address that is not one of its email's recipients (to, cc or bcc) changes nothing: a provider
   * reports only on the addresses we sent to, so it is forged or mismatched, and applying it would let a
   * signature put any address on the suppression list. It answers 'ignored', like an event we do not track,
   * so that the answer tells a forger nothing.
   */
  async apply(event: ProviderEvent): Promise<ProviderEventResult> {
    const recipients = await this.emails.recipientsOf(event.emailId);
    if (recipients === undefined) return this.unknownEmail(event);
    const recipient = normalizeAddress(event.recipient);
    if (!recipients.some((address) => normalizeAddress(address) === recipient)) {
      this.metrics.recordRejectedCallback(event.provider, 'foreign_recipient');
      // The address stays out of the log: it may be anyone's.
      this.logger.warn(
        { emailId: event.emailId, provider: event.provider, kind: event.kind },
        'provider event ignored: it names an address that is not a recipient of its email',
      );
      return 'ignored';
    }
    const now = Date.now();
    const applied = await this.store.apply(event, now);
    if (applied.kind !== 'applied')
      return applied.kind === 'duplicate' ? 'duplicate' : this.unknownEmail(event);
    const { previousStatus, statusChanged, service } = applied;
    if (event.kind !== 'delivered') {
      await this.suppressions.add(
        event.recipient,
        event.kind === 'bounced' ? 'hard_bounce' : 'complaint',
        event.provider,
        now,
      );
    }
    this.events.emit({
      event: event.kind,
      emailId: event.emailId,
      service,
      at: now,
      provider: event.provider,
      recipients: [event.recipient],
      // Never the recipient: the trail names ids, not people.
      detail: {
        provider: event.provider,
        ...(event.code !== undefined ? { code: event.code } : {}),
        previousStatus,
        statusChanged,
      },
    });
    this.logger.info(
      { emailId: event.emailId, provider: event.provider, kind: event.kind, statusChanged },
      'provider event applied',
    );
    return 'applied';
  }

  private unknownEmail(event: ProviderEvent): 'unknown-email' {
    this.logger.info(
      { emailId: event.emailId, provider: event.provider },
      'provider event for an unknown email',
    );
    return 'unknown-email';
  }
}
