import { Injectable } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { EmailRepository } from '../emails/email.repository';
import { AppLogger } from '../logging/app-logger';
import { isDeliveryError, TransientDeliveryError, type DeliveryError } from '../providers/delivery-errors';
import type { EmailProvider } from '../providers/email-provider';
import { ProviderRegistry } from '../providers/provider-registry';

export type DeliveryOutcome =
  | { kind: 'sent'; provider: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'retry'; reason: string }
  | { kind: 'dead'; reason: string };

/**
 * Delivers one email: takes it (atomically, so a cancelled or already-sent email is left alone), sends it
 * through its provider and records the outcome. A failure is retried while attempts remain and it is
 * transient; otherwise the email is dead.
 */
@Injectable()
export class DeliveryService {
  constructor(
    private readonly emails: EmailRepository,
    private readonly providers: ProviderRegistry,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('delivery');
  }

  /** Runs inside the job's logging context (see DeliveryWorker), which carries `emailId` on every line. */
  async deliver(emailId: string): Promise<DeliveryOutcome> {
    const claim = await this.emails.claimForSending(emailId, Date.now());
    if (claim.kind === 'missing') {
      this.logger.warn('job has no email record (expired or removed); dropping it');
      return { kind: 'skipped', reason: 'missing' };
    }
    if (claim.kind === 'final') {
      this.logger.debug({ status: claim.status }, 'email needs no delivery; skipping');
      return { kind: 'skipped', reason: claim.status };
    }
    // From here on every line of this job also names the request that accepted the email.
    this.logger.assign({
      service: claim.service,
      ...(claim.requestId ? { requestId: claim.requestId } : {}),
    });
    if (claim.previousStatus === 'sending') {
      // Its previous worker died mid-send; the provider may have it already. At-least-once: send again.
      this.logger.warn({ attempt: claim.attempt }, 'resuming an interrupted delivery (possible duplicate)');
    }

    const provider = this.providerFor(claim.pinnedProvider);
    const started = performance.now();
    try {
      const { providerMessageId } = await provider.send({ id: emailId, ...claim.message });
      await this.emails.markSent(emailId, { provider: provider.name, providerMessageId, sentAt: Date.now() });
      const latencyMs = Math.round(performance.now() - started);
      this.logger.info({ provider: provider.name, attempt: claim.attempt, latencyMs }, 'email sent');
      return { kind: 'sent', provider: provider.name };
    } catch (error) {
      const failure = asDeliveryError(error, provider.name);
      const isLast = failure.permanent || claim.attempt >= claim.maxAttempts;
      const status = isLast ? 'dead' : 'retrying';
      await this.emails.markFailed(emailId, { status, provider: provider.name, lastError: failure.message });
      const fields = { provider: provider.name, attempt: claim.attempt, reason: failure.message };
      if (isLast) {
        this.logger.error({ ...fields, permanent: failure.permanent }, 'email dead: no more attempts');
        return { kind: 'dead', reason: failure.message };
      }
      this.logger.warn(fields, 'delivery attempt failed; will retry');
      return { kind: 'retry', reason: failure.message };
    }
  }

  private providerFor(pinned: string | undefined): EmailProvider {
    return (pinned && this.providers.get(pinned)) || this.providers.primary;
  }
}

function asDeliveryError(error: unknown, provider: string): DeliveryError {
  if (isDeliveryError(error)) return error;
  // Not a provider verdict (e.g. Redis failed after the send): retry is the safe side of at-least-once.
  return new TransientDeliveryError(provider, error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
