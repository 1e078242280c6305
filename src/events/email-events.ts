import { Injectable } from '@nestjs/common';

export const AUDIT_EVENTS = [
  'accepted',
  'scheduled',
  'attempt',
  'sent',
  'failed',
  'retry_scheduled',
  'dead_lettered',
  'cancelled',
  'replayed',
  'retried_from_dead_letter',
  'suppressed',
  'delivered',
  'bounced',
  'complained',
  'reconciled',
] as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** Something that happened to an email, as every observer (audit, metrics) receives it. */
export interface EmailEvent {
  event: AuditEventName;
  emailId: string;
  service: string;
  at: number;
  requestId?: string;
  priority?: string;
  provider?: string;
  /** Milliseconds the provider took (sent, failed). */
  latencyMs?: number;
  /** Event details for the audit trail: ids, counts, reasons; never a message body or a secret. */
  detail?: Record<string, unknown>;
  /**
   * The recipients it concerns when not all of them (a bounce, a complaint, those suppressed), for the
   * caller's webhooks; never written to the audit trail, which names ids, not people.
   */
  recipients?: string[];
}

export interface EmailEventListener {
  onEmailEvent(event: EmailEvent): void;
}

/**
 * The one place that hears what happens to emails: the API and the workers report events here, and the
 * audit trail and the metrics listen. Listeners are called synchronously and must not block or throw: they
 * queue their own I/O, so that observing a send can never slow or fail it.
 */
@Injectable()
export class EmailEvents {
  private readonly listeners: EmailEventListener[] = [];

  subscribe(listener: EmailEventListener): void {
    this.listeners.push(listener);
  }

  emit(event: Omit<EmailEvent, 'at'> & { at?: number }): void {
    const full: EmailEvent = { ...event, at: event.at ?? Date.now() };
    for (const listener of this.listeners) {
      try {
        listener.onEmailEvent(full);
      } catch {
        // A listener's bug must not reach the send; listeners log their own failures.
      }
    }
  }
}
