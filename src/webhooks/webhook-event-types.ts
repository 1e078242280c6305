import type { AuditEventName } from '../events/email-events';

export const WEBHOOK_EVENT_TYPES = [
  'email.sent',
  'email.delivered',
  'email.bounced',
  'email.complained',
  'email.failed',
  'email.dead',
  'email.cancelled',
  'email.suppressed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Which email events callers hear about, and as what. `email.failed` is an attempt that failed and will be
 * retried (the audit's `retry_scheduled`); the last failure is `email.dead`. Attempts, acceptance and
 * scheduling are not sent: the caller made them happen.
 */
export const WEBHOOK_EVENT_OF: Partial<Readonly<Record<AuditEventName, WebhookEventType>>> = {
  sent: 'email.sent',
  delivered: 'email.delivered',
  bounced: 'email.bounced',
  complained: 'email.complained',
  retry_scheduled: 'email.failed',
  dead_lettered: 'email.dead',
  cancelled: 'email.cancelled',
  suppressed: 'email.suppressed',
};
