import type { EmailEvent } from '../events/email-events';
import type { WebhookEventType } from './webhook-event-types';

/** What the email's record adds to an event: read once per event when it is queued. */
export interface EmailFacts {
  status?: string;
  to: string[];
  provider?: string;
  providerMessageId?: string;
}

/** The body of a webhook delivery: what happened, never the message itself. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: {
    emailId: string;
    service: string;
    status: string;
    to: string[];
    provider: string | null;
    providerMessageId: string | null;
    reason: string | null;
  };
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** The status the event leaves the email in. */
function statusAfter(event: EmailEvent, facts: EmailFacts): string {
  switch (event.event) {
    case 'retry_scheduled':
      return 'retrying';
    case 'dead_lettered':
      return 'dead';
    case 'suppressed':
      // Some recipients left out: the email goes on to the others, and its status says how far it got.
      return event.detail?.remaining === 0 ? 'suppressed' : (facts.status ?? 'sending');
    default:
      return event.event;
  }
}

/** Why it happened, when there is a reason to give: a provider's error, a bounce code, a suppression. */
function reasonOf(event: EmailEvent): string | null {
  const detail = event.detail ?? {};
  switch (event.event) {
    case 'retry_scheduled':
    case 'dead_lettered':
      return text(detail.reason) ?? null;
    case 'bounced':
      return typeof detail.code === 'number' ? `hard_bounce (${detail.code})` : 'hard_bounce';
    case 'complained':
      return 'complaint';
    case 'suppressed':
      return Array.isArray(detail.reasons) ? detail.reasons.join(',') : null;
    default:
      return null;
  }
}

/**
 * The JSON body sent to webhooks for one email event. `to` is the recipients the event concerns (the one who
 * bounced or complained, those suppressed), else all the email's recipients.
 */
export function webhookPayload(type: WebhookEventType, event: EmailEvent, facts: EmailFacts): WebhookPayload {
  return {
    type,
    timestamp: new Date(event.at).toISOString(),
    data: {
      emailId: event.emailId,
      service: event.service,
      status: statusAfter(event, facts),
      to: event.recipients ?? facts.to,
      provider: event.provider ?? text(event.detail?.provider) ?? facts.provider ?? null,
      providerMessageId: text(event.detail?.providerMessageId) ?? facts.providerMessageId ?? null,
      reason: reasonOf(event),
    },
  };
}
