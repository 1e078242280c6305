import { verify, type KeyObject } from 'node:crypto';
import { UUID_PATTERN } from '../common/ids';
import { smtpReplyCode, type ProviderEvent } from './provider-event';

/*
 * SendGrid's Event Webhook, as its reference documents it (twilio.com/docs/sendgrid/for-developers/tracking-
 * events/event, and …/getting-started-event-webhook-security-features for the Signed Event Webhook):
 * - a POST of a JSON array of events, each with `event`, `email`, `timestamp`, `sg_event_id`, `sg_message_id`
 *   and the message's custom arguments as top-level fields (ours: `email_id`);
 * - signed: `X-Twilio-Email-Event-Webhook-Signature` is the base64 of an ECDSA (P-256, SHA-256) signature in
 *   DER form over the `X-Twilio-Email-Event-Webhook-Timestamp` value followed by the raw body bytes; the
 *   verification key is shown in the console as the base64 of a DER SubjectPublicKeyInfo.
 */

/** The headers of a signed batch, lower-cased as Node gives them. */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * How far a signed batch's timestamp may be from now. SendGrid signs each POST when it sends it (a retry is
 * signed anew), so an older one is a replay; five minutes, as for Mailgun, leaves room for clock skew.
 */
export const SENDGRID_SIGNATURE_MAX_AGE_MS = 5 * 60_000;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Whether a batch is signed as SendGrid signs it: the signature verifies over `timestamp + raw body` with the
 * key, and the timestamp is within five minutes of now. The raw bytes matter: a body parsed and serialised
 * again would differ in spacing, key order or escapes, and fail.
 */
export function isSendGridSignatureValid(
  signed: { signature?: string; timestamp?: string; rawBody?: Buffer },
  publicKey: KeyObject,
  nowMs: number,
): boolean {
  const { signature, timestamp, rawBody } = signed;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || !rawBody) return false;
  if (
    !/^\d{1,12}$/.test(timestamp) ||
    Math.abs(nowMs - Number(timestamp) * 1000) > SENDGRID_SIGNATURE_MAX_AGE_MS
  )
    return false;
  if (!BASE64.test(signature)) return false;
  try {
    return verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]),
      { key: publicKey, dsaEncoding: 'der' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    // A signature that is not DER at all: as forged as a wrong one.
    return false;
  }
}

/**
 * `dropped` reasons that say the address itself cannot take mail (SendGrid dropped the message because the
 * address is on its bounce or invalid-address list), and the one that says its owner reported spam before.
 * Other drops (`Unsubscribed Address`, `Spam Content`, `Invalid SMTPAPI header`, …) are about the message or
 * a list of SendGrid's that is not ours, and say nothing about delivering to the address: ignored.
 */
const DROPPED_AS_BOUNCE = new Set(['bounced address', 'invalid']);
const DROPPED_AS_COMPLAINT = 'spam reporting address';

type Kind = ProviderEvent['kind'];

function kindOf(data: Record<string, unknown>): Kind | undefined {
  const reason = typeof data.reason === 'string' ? data.reason.trim().toLowerCase() : '';
  switch (data.event) {
    case 'delivered':
      return 'delivered';
    case 'spamreport':
      return 'complained';
    // `type: blocked` is a soft bounce (a block, often temporary: SendGrid may deliver later); only
    // `type: bounce` is the receiving server refusing the address for good.
    case 'bounce':
      return data.type === 'bounce' ? 'bounced' : undefined;
    case 'dropped':
      return DROPPED_AS_BOUNCE.has(reason)
        ? 'bounced'
        : reason === DROPPED_AS_COMPLAINT
          ? 'complained'
          : undefined;
    default:
      return undefined;
  }
}

/**
 * Our event for one of SendGrid's: `delivered`, `bounce` of type `bounce` (a hard bounce), `spamreport`, and
 * `dropped` because of an earlier bounce, an invalid address or an earlier spam report. Others (processed,
 * deferred, blocked, opens, clicks, unsubscribes), events without an `sg_event_id` and events of mail we did
 * not send (no `email_id` custom argument) give undefined.
 */
export function fromSendGridEvent(data: unknown): ProviderEvent | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const event = data as Record<string, unknown>;
  const { sg_event_id: eventId, email: recipient, email_id: emailId } = event;
  if (typeof eventId !== 'string' || !eventId || typeof recipient !== 'string') return undefined;
  if (typeof emailId !== 'string' || !UUID_PATTERN.test(emailId)) return undefined;
  const kind = kindOf(event);
  if (!kind) return undefined;
  const code = kind === 'delivered' ? smtpReplyCode(event.response) : smtpReplyCode(event.reason);
  return {
    provider: 'sendgrid',
    eventId,
    kind,
    emailId,
    recipient,
    ...(code !== undefined ? { code } : {}),
  };
}
