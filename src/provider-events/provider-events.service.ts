import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import type { EmailStatus } from '../emails/email-status';
import { EmailRepository } from '../emails/email.repository';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { normalizeAddress, SuppressionStore } from '../suppressions/suppression.store';
import { callbackReplayed } from './callback-problems';
import { MailgunTokenStore } from './mailgun-token.store';
import type { EventProvider, ProviderEvent } from './provider-event';

/** What became of a provider's event: 'ignored' when it was nothing to apply (a kind or mail we do not track). */
export type ProviderEventResult = 'applied' | 'duplicate' | 'unknown-email' | 'ignored';

const DAY_MS = 86_400_000;
/** How long an applied event's id is remembered: providers retry a callback for hours, at most a few days. */
const EVENT_ID_TTL_MS = 3 * DAY_MS;

/**
 * Applies one provider event to its email, once: the event's id is remembered (a replay changes nothing),
 * and the status only moves forward from `sent`: `delivered`, then `bounced` or `complained`, which a later
 * `delivered` of another recipient does not undo. Returns the status before, whether it changed and the
 * email's service; false when the email is unknown (expired, or never ours) and 'duplicate' for an event
 * already applied.
 * KEYS[1] the email's record, KEYS[2] the event's id. ARGV[1] the new status, ARGV[2] now (ms), ARGV[3] the
 * id's lifetime (ms).
 */
const APPLY_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if not redis.call('SET', KEYS[2], '1', 'PX', ARGV[3], 'NX') then return 'duplicate' end
local f = redis.call('HMGET', KEYS[1], 'status', 'service')
local status = f[1]
local rank = { sent = 1, delivered = 2, bounced = 3, complained = 3 }
if not rank[status] or rank[ARGV[1]] <= rank[status] then return {status, 0, f[2]} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reportedAt', ARGV[2])
return {status, 1, f[2]}
`;

interface ScriptedRedis extends Redis {
  freefaceApplyProviderEvent(
    emailKey: string,
    eventKey: string,
    status: string,
    now: number,
    ttlMs: number,
  ): Promise<null | 'duplicate' | [EmailStatus, 0 | 1, string]>;
}

/**
 * What providers report after a send (delivered, bounced, complained): the email's status and audit trail,
 * and the suppression list for hard bounces and complaints (soft bounces are not reported here).
 */
@Injectable()
export class ProviderEventsService {
  private readonly redis: ScriptedRedis;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly emails: EmailRepository,
    private readonly mailgunTokens: MailgunTokenStore,
    private readonly suppressions: SuppressionStore,
    private readonly events: EmailEvents,
    private readonly metrics: PrometheusMetrics,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('provider-events');
    this.redis = connections.client as ScriptedRedis;
    if (!this.redis.freefaceApplyProviderEvent) {
      this.redis.defineCommand('freefaceApplyProviderEvent', { numberOfKeys: 2, lua: APPLY_SCRIPT });
    }
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

  /** Our email's id under a provider's id of its message, where delivery kept one (see RedisKeys). */
  async emailIdOfProviderMessage(provider: EventProvider, messageId: string): Promise<string | undefined> {
    return (await this.redis.get(this.keys.providerMessage(provider, messageId))) ?? undefined;
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
    const result = await this.redis.freefaceApplyProviderEvent(
      this.keys.email(event.emailId),
      this.keys.providerEvent(event.provider, event.eventId),
      event.kind,
      now,
      EVENT_ID_TTL_MS,
    );
    if (result === null) return this.unknownEmail(event);
    if (result === 'duplicate') return 'duplicate';
    const [previous, changed, service] = result;
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
        previousStatus: previous,
        statusChanged: changed === 1,
      },
    });
    this.logger.info(
      { emailId: event.emailId, provider: event.provider, kind: event.kind, statusChanged: changed === 1 },
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
