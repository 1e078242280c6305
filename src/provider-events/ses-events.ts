import { UUID_PATTERN } from '../common/ids';
import { smtpReplyCode, type ProviderEvent } from './provider-event';

/*
 * What Amazon SES publishes to an SNS topic, as its developer guide documents it ("Amazon SNS notification
 * contents for Amazon SES" for an identity's feedback notifications, "Contents of event data that Amazon SES
 * publishes to Amazon SNS" for a configuration set's event publishing): a JSON object with `notificationType`
 * (event publishing: `eventType`) of Delivery, Bounce or Complaint, the original `mail` (its `messageId`; its
 * `headers` when "include original headers" is on; `tags` with event publishing only) and a `delivery`,
 * `bounce` or `complaint` object naming the recipients concerned. One notification may cover several
 * recipients, and SES may add fields at any time.
 */

/** One recipient's event from an SES notification, before it is matched to our email. */
export interface SesEvent extends Omit<ProviderEvent, 'provider' | 'emailId'> {
  /** Our id, when the notification carries it: the X-Email-Id header, else the `email_id` tag. */
  emailId?: string;
  /** SES's id of the message (what SendRawEmail answered), to find our email by when the id is missing. */
  sesMessageId?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Our id from the original headers (X-Email-Id) or, with event publishing, the `email_id` tag. */
function emailIdOf(mail: Json): string | undefined {
  const header = asArray(mail.headers).find(
    (h) => isObject(h) && typeof h.name === 'string' && h.name.toLowerCase() === 'x-email-id',
  ) as Json | undefined;
  const tag = isObject(mail.tags) ? asArray(mail.tags.email_id)[0] : undefined;
  for (const candidate of [header?.value, tag]) {
    if (typeof candidate === 'string' && UUID_PATTERN.test(candidate.trim())) return candidate.trim();
  }
  return undefined;
}

/** The recipients concerned and each one's kind and code; none for what we do not track. */
function recipientsOf(
  type: unknown,
  n: Json,
): { kind: SesEvent['kind']; recipient: string; code?: number }[] {
  const withCode = (code: number | undefined) => (code !== undefined ? { code } : {});
  switch (type) {
    case 'Delivery': {
      const delivery = isObject(n.delivery) ? n.delivery : {};
      const code = smtpReplyCode(delivery.smtpResponse);
      return asArray(delivery.recipients)
        .filter((r): r is string => typeof r === 'string')
        .map((recipient) => ({ kind: 'delivered' as const, recipient, ...withCode(code) }));
    }
    case 'Bounce': {
      const bounce = isObject(n.bounce) ? n.bounce : {};
      // Transient (mailbox full, message too large, …) and Undetermined bounces are not a verdict on the
      // address: SES may still deliver, or the next email may go through. Only Permanent ones count.
      if (bounce.bounceType !== 'Permanent') return [];
      return asArray(bounce.bouncedRecipients)
        .filter((r): r is Json => isObject(r) && typeof r.emailAddress === 'string')
        .map((r) => ({
          kind: 'bounced' as const,
          recipient: r.emailAddress as string,
          ...withCode(smtpReplyCode(r.diagnosticCode)),
        }));
    }
    case 'Complaint': {
      const complaint = isObject(n.complaint) ? n.complaint : {};
      return asArray(complaint.complainedRecipients)
        .filter((r): r is Json => isObject(r) && typeof r.emailAddress === 'string')
        .map((r) => ({ kind: 'complained' as const, recipient: r.emailAddress as string }));
    }
    default:
      return [];
  }
}

/**
 * Our events for an SES notification (the SNS message's `Message`), one per recipient it names: Delivery,
 * Bounce with bounceType Permanent, Complaint. Everything else (Send, Reject, DeliveryDelay, Open, Click,
 * transient bounces, text that is not an SES notification) gives none. The event id is the SNS MessageId
 * (which SNS keeps on retries), with the recipient after it when the notification names several.
 */
export function fromSesNotification(snsMessageId: string, message: string): SesEvent[] {
  let notification: unknown;
  try {
    notification = JSON.parse(message);
  } catch {
    return [];
  }
  if (!isObject(notification) || !isObject(notification.mail)) return [];
  const type = notification.notificationType ?? notification.eventType;
  const recipients = recipientsOf(type, notification);
  const emailId = emailIdOf(notification.mail);
  const sesMessageId = notification.mail.messageId;
  return recipients.map((r) => ({
    ...r,
    eventId: recipients.length === 1 ? snsMessageId : `${snsMessageId}:${r.recipient.toLowerCase()}`,
    ...(emailId ? { emailId } : {}),
    ...(typeof sesMessageId === 'string' && sesMessageId ? { sesMessageId } : {}),
  }));
}
