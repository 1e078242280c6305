import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config';
import { mergeGroupData } from '../emails/email-composer';
import { GroupDataStore } from '../emails/group-data.store';
import { EmailEvents, type EmailEvent } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { createLineScrubber } from '../logging/redaction';
import { StepTimer } from '../logging/step-timer';
import {
  isDeliveryError,
  PermanentDeliveryError,
  TransientDeliveryError,
  type DeliveryError,
} from '../providers/delivery-errors';
import type { OutboundEmail, OutboundMessage } from '../providers/outbound-email';
import { ProviderRegistry } from '../providers/provider-registry';
import { htmlToText } from '../templates/html-to-text';
import { TemplateRegistry, type RenderedTemplate } from '../templates/template-registry';
import { SuppressionStore } from '../suppressions/suppression.store';
import { DeliveryStore, type DeliveryClaim } from './delivery.store';
import { ProviderStateStore } from './provider-state.store';

export type DeliveryOutcome =
  | { kind: 'sent'; provider: string }
  | { kind: 'skipped'; reason: string }
  /** A failed attempt (the `attempt`-th) that will be retried. */
  | { kind: 'retry'; reason: string; attempt: number }
  | { kind: 'dead'; reason: string }
  | Extract<DeliveryClaim, { kind: 'wait' }>;

/**
 * Delivers one email: takes it (atomically: a cancelled or already-sent email is left alone, the provider is
 * chosen and its rate limit applied; see DeliveryStore), sends it and records the outcome. A transient
 * failure is retried, through the next provider of the chain, while attempts remain; a permanent one, or the
 * last attempt, makes the email dead.
 */
@Injectable()
export class DeliveryService {
  /** Removes secrets from a provider's reason before it is stored and shown in the email's status. */
  private readonly redact: (text: string) => string;

  constructor(
    private readonly store: DeliveryStore,
    private readonly providers: ProviderRegistry,
    private readonly logger: AppLogger,
    private readonly templates: TemplateRegistry,
    private readonly events: EmailEvents,
    private readonly suppressions: SuppressionStore,
    private readonly groupData: GroupDataStore,
    private readonly providerStates: ProviderStateStore,
    config: AppConfig,
  ) {
    this.logger.setContext('delivery');
    this.redact = createLineScrubber(config.logging.secrets);
  }

  /**
   * The email as providers take it: a group email's template rendered with its data, the group's shared data
   * merged in as at accept time (a failure is permanent: the same data will not render later), and the text
   * part made from the HTML when the template had none.
   */
  private readyToSend(
    id: string,
    message: OutboundMessage,
    provider: string,
    shared: Record<string, unknown> | undefined,
  ): OutboundEmail {
    const { render, textFromHtml, ...content } = message;
    let email: OutboundEmail = { id, ...content };
    let textFromHtmlNeeded = textFromHtml === true;
    if (render) {
      let rendered: RenderedTemplate;
      try {
        // A group email's one recipient is the `recipient` of its data, as at accept time.
        const data = render.shared
          ? mergeGroupData(shared, { ...message.to[0]!, data: render.data })
          : render.data;
        rendered = this.templates.render(render.template, data);
      } catch (error) {
        throw new PermanentDeliveryError(provider, error instanceof Error ? error.message : String(error), {
          cause: error,
        });
      }
      email = {
        ...email,
        ...(rendered.html !== undefined ? { html: rendered.html } : {}),
        ...(rendered.text !== undefined ? { text: rendered.text } : {}),
      };
      textFromHtmlNeeded = rendered.text === undefined;
    }
    return textFromHtmlNeeded ? { ...email, text: htmlToText(email.html ?? '') } : email;
  }

  /**
   * The shared data of a group email's group (undefined for any other email). Gone while the email still
   * needs it, the email cannot be rendered as accepted: a permanent failure, never an email with holes.
   */
  private async sharedDataOf(
    message: OutboundMessage,
    provider: string,
  ): Promise<Record<string, unknown> | undefined> {
    const group = message.render?.shared;
    if (!group) return undefined;
    const shared = await this.groupData.find(group.groupId);
    if (!shared)
      throw new PermanentDeliveryError(provider, `the shared data of group ${group.groupId} has expired`);
    return shared;
  }

  /**
   * The email no longer needs its group's shared data (sent, or every recipient suppressed). Not releasing
   * only keeps the data until it expires, so a failure here is logged and the delivery stands.
   */
  private async releaseSharedData(message: OutboundMessage): Promise<void> {
    const group = message.render?.shared;
    if (!group) return;
    await this.groupData
      .releaseMember(group.groupId, group.member)
      .catch((error: unknown) =>
        this.logger.warn(
          { groupId: group.groupId, error: error instanceof Error ? error.message : String(error) },
          'group shared data not released; it will expire instead',
        ),
      );
  }

  /**
   * The message without its suppressed recipients (one Redis round trip for all of them), or undefined when
   * none is left: the email then ends `suppressed` and nothing is sent. Either way the record names who was
   * left out and why, and the audit trail counts them (never their addresses).
   */
  private async withoutSuppressed(
    emailId: string,
    message: OutboundMessage,
    base: Omit<EmailEvent, 'event' | 'at'>,
  ): Promise<OutboundMessage | undefined> {
    const suppressed = await this.suppressions.check(
      [...message.to, ...message.cc, ...message.bcc].map((recipient) => recipient.email),
    );
    if (suppressed.length === 0) return message;
    const left = new Set(suppressed.map((recipient) => recipient.email));
    const keep = (list: OutboundMessage['to']) => list.filter((recipient) => !left.has(recipient.email));
    const remaining = { ...message, to: keep(message.to), cc: keep(message.cc), bcc: keep(message.bcc) };
    const remainingCount = remaining.to.length + remaining.cc.length + remaining.bcc.length;
    await this.store.markSuppressed(emailId, suppressed, remainingCount === 0);
    this.events.emit({
      ...base,
      at: Date.now(),
      event: 'suppressed',
      recipients: suppressed.map((recipient) => recipient.email),
      detail: {
        recipients: suppressed.length,
        remaining: remainingCount,
        reasons: [...new Set(suppressed.map((recipient) => recipient.reason))],
      },
    });
    if (remainingCount > 0) return remaining;
    this.logger.info({ recipients: suppressed.length }, 'email suppressed: every recipient is suppressed');
    await this.releaseSharedData(message);
    return undefined;
  }

  /** Runs inside the job's logging context (see DeliveryProcessor), which carries `emailId` on every line. */
  async deliver(emailId: string): Promise<DeliveryOutcome> {
    // LOG_LEVELS=delivery=debug: one "delivery timing" line per attempt shows where its time went.
    const timer = StepTimer.start(this.logger);
    const claim = await this.store.claim(emailId);
    timer.lap('claim');
    switch (claim.kind) {
      case 'missing':
        this.logger.warn('job has no email record (expired or removed); dropping it');
        return { kind: 'skipped', reason: 'missing' };
      case 'final':
        this.logger.debug({ status: claim.status }, 'email needs no delivery; skipping');
        return { kind: 'skipped', reason: claim.status };
      case 'wait':
        if (claim.reason === 'provider' && claim.first)
          this.logger.warn(
            { provider: claim.provider, untilMs: claim.untilMs },
            'email pinned to a provider this worker does not have: waiting for a worker that has it',
          );
        else
          this.logger.debug(
            { reason: claim.reason, provider: claim.provider, untilMs: claim.untilMs },
            'email waits',
          );
        return claim;
      case 'unroutable':
        return this.deadForWantOfProvider(emailId, claim);
    }

    this.logger.assign({
      service: claim.service,
      ...(claim.requestId ? { requestId: claim.requestId } : {}),
    });
    if (claim.previousStatus === 'sending') {
      // Its previous worker died mid-send; the provider may have it already. At-least-once: send again.
      this.logger.warn({ attempt: claim.attempt }, 'resuming an interrupted delivery (possible duplicate)');
    }
    const base = {
      emailId,
      service: claim.service,
      requestId: claim.requestId,
      provider: claim.provider,
      priority: claim.priority,
    };
    const message = await this.withoutSuppressed(emailId, claim.message, base);
    if (!message) return { kind: 'skipped', reason: 'suppressed' };
    const provider = this.providers.get(claim.provider);
    this.events.emit({
      ...base,
      event: 'attempt',
      detail: { attempt: claim.attempt, provider: claim.provider },
    });
    const started = performance.now();
    try {
      if (!provider)
        throw new TransientDeliveryError(
          claim.provider,
          `provider ${claim.provider} is not configured on this worker`,
        );
      const shared = await this.sharedDataOf(message, claim.provider);
      const email = this.readyToSend(emailId, message, claim.provider, shared);
      timer.lap('prepare');
      const sendStarted = performance.now();
      const { providerMessageId } = await provider.send(email);
      // The provider's own time, without our preparation and bookkeeping: what the latency histogram shows.
      const latencyMs = Math.round(performance.now() - sendStarted);
      timer.lap('send');
      await this.store.markSent(emailId, { provider: claim.provider, providerMessageId, sentAt: Date.now() });
      await this.releaseSharedData(message);
      timer.lap('record');
      timer.done('delivery timing', { outcome: 'sent', provider: claim.provider, attempt: claim.attempt });
      this.events.emit({
        ...base,
        event: 'sent',
        latencyMs,
        detail: { provider: claim.provider, attempt: claim.attempt, providerMessageId, latencyMs },
      });
      this.logger.info({ provider: claim.provider, attempt: claim.attempt, latencyMs }, 'email sent');
      return { kind: 'sent', provider: claim.provider };
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      timer.lap('send');
      const failure = asDeliveryError(error, claim.provider);
      const reason = this.redact(failure.message);
      const isLast = failure.permanent || claim.attempt >= claim.maxAttempts;
      const status = isLast ? 'dead' : 'retrying';
      // Before the message's own lifetime is renewed: the shared data must never go before it.
      if (message.render?.shared) await this.groupData.keep(message.render.shared.groupId);
      await this.store.markFailed(emailId, {
        status,
        provider: claim.provider,
        lastError: reason,
        at: Date.now(),
        permanent: failure.permanent,
      });
      timer.lap('record');
      timer.done('delivery timing', { outcome: status, provider: claim.provider, attempt: claim.attempt });
      const fields = {
        provider: claim.provider,
        attempt: claim.attempt,
        permanent: failure.permanent,
        reason,
      };
      this.events.emit({
        ...base,
        event: 'failed',
        latencyMs,
        detail: fields,
      });
      if (!failure.permanent) {
        const openUntil = await this.providerStates.recordFailure(claim.provider);
        if (openUntil > 0)
          this.logger.warn(
            { provider: claim.provider, openUntil: new Date(openUntil).toISOString() },
            'provider circuit opened',
          );
      }
      if (isLast) {
        this.events.emit({ ...base, event: 'dead_lettered', detail: { ...fields, attempts: claim.attempt } });
        this.logger.error(fields, 'email dead: no more attempts');
        return { kind: 'dead', reason };
      }
      this.events.emit({
        ...base,
        event: 'retry_scheduled',
        detail: { attempt: claim.attempt, nextAttempt: claim.attempt + 1, reason },
      });
      this.logger.warn(fields, 'delivery attempt failed; will retry');
      return { kind: 'retry', reason, attempt: claim.attempt };
    }
  }

  /** The claim made the email dead: no worker that took it had its pinned provider (see DeliveryStore). */
  private deadForWantOfProvider(
    emailId: string,
    claim: Extract<DeliveryClaim, { kind: 'unroutable' }>,
  ): DeliveryOutcome {
    const fields = {
      provider: claim.provider,
      attempts: claim.attempts,
      permanent: true,
      reason: claim.reason,
    };
    this.events.emit({
      emailId,
      service: claim.service,
      requestId: claim.requestId,
      provider: claim.provider,
      priority: claim.priority,
      event: 'dead_lettered',
      detail: fields,
    });
    this.logger.error(fields, 'email dead: its pinned provider is not configured on the workers');
    return { kind: 'dead', reason: claim.reason };
  }
}

function asDeliveryError(error: unknown, provider: string): DeliveryError {
  if (isDeliveryError(error)) return error;
  // Not a provider verdict (e.g. Redis failed after the send): retry is the safe side of at-least-once.
  return new TransientDeliveryError(provider, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
