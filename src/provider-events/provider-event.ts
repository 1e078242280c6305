/** What a provider reported about one recipient of an email we sent through it. */
export interface ProviderEvent {
  provider: 'mailgun';
  /** The provider's id of the event: a replayed callback carries the same one. */
  eventId: string;
  /** delivered: accepted by the recipient's server; bounced: refused for good; complained: marked as spam. */
  kind: 'delivered' | 'bounced' | 'complained';
  /** Our id of the email, from what we sent along (Mailgun: the `email_id` user variable). */
  emailId: string;
  recipient: string;
  /** The receiving server's status code, when the provider gives one (never its text: it can quote addresses). */
  code?: number;
}
