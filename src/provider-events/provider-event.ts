/** The providers whose callbacks report what became of mail sent through them. */
export type EventProvider = 'mailgun' | 'sendgrid' | 'ses';

/** What a provider reported about one recipient of an email we sent through it. */
export interface ProviderEvent {
  provider: EventProvider;
  /** The provider's id of the event: a replayed callback carries the same one. */
  eventId: string;
  /** delivered: accepted by the recipient's server; bounced: refused for good; complained: marked as spam. */
  kind: 'delivered' | 'bounced' | 'complained';
  /**
   * Our id of the email, from what we sent along (Mailgun: the `email_id` user variable; SendGrid: the
   * `email_id` custom argument; SES: the X-Email-Id header, the `email_id` tag or SES's message id).
   */
  emailId: string;
  recipient: string;
  /** The receiving server's status code, when the provider gives one (never its text: it can quote addresses). */
  code?: number;
}

/**
 * The SMTP reply code at the start of a receiving server's answer as providers quote it (`250 OK`,
 * `550 5.1.1 user unknown`, SES's `smtp; 550 …`); undefined when there is none.
 */
export function smtpReplyCode(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(?:smtp;\s*)?([2-5]\d\d)(?![\d.])/i.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}
