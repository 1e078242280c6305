import { createHmac, timingSafeEqual } from 'node:crypto';
import { UUID_PATTERN } from '../common/ids';
import type { ProviderEvent } from './provider-event';

/** How old a signed callback may be: Mailgun signs each with the time it was sent. */
export const MAILGUN_SIGNATURE_MAX_AGE_MS = 5 * 60_000;

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/**
 * Mailgun's webhook signature, as Mailgun documents it: HMAC-SHA256 of `timestamp + token` with the webhook
 * signing key, hex-encoded; compared in constant time, and refused when the timestamp is more than five minutes
 * away from now (a captured callback cannot be replayed later; within the window, MailgunTokenStore refuses a
 * token used before).
 */
export function isMailgunSignatureValid(
  signature: Partial<MailgunSignature> | undefined,
  signingKey: string,
  nowMs: number,
): signature is MailgunSignature {
  const { timestamp, token, signature: hex } = signature ?? {};
  if (typeof timestamp !== 'string' || typeof token !== 'string' || typeof hex !== 'string') return false;
  if (
    !/^\d{1,12}$/.test(timestamp) ||
    Math.abs(nowMs - Number(timestamp) * 1000) > MAILGUN_SIGNATURE_MAX_AGE_MS
  )
    return false;
  const expected = createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest();
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface MailgunEventData {
  id?: unknown;
  event?: unknown;
  severity?: unknown;
  recipient?: unknown;
  'user-variables'?: Record<string, unknown>;
  'delivery-status'?: { code?: unknown };
}

/**
 * Our event for one of Mailgun's (`event-data` of a webhook): `delivered`, `failed` with severity `permanent`
 * (a hard bounce; a `temporary` one is Mailgun still retrying) and `complained`. Others, and events of mail
 * we did not send (no `email_id` variable), give undefined.
 */
export function fromMailgunEvent(data: MailgunEventData | undefined): ProviderEvent | undefined {
  if (!data || typeof data.id !== 'string' || typeof data.recipient !== 'string') return undefined;
  const emailId = data['user-variables']?.email_id;
  if (typeof emailId !== 'string' || !UUID_PATTERN.test(emailId)) return undefined;
  const kind =
    data.event === 'delivered'
      ? 'delivered'
      : data.event === 'complained'
        ? 'complained'
        : data.event === 'failed' && data.severity === 'permanent'
          ? 'bounced'
          : undefined;
  if (!kind) return undefined;
  const code = data['delivery-status']?.code;
  return {
    provider: 'mailgun',
    eventId: data.id,
    kind,
    emailId,
    recipient: data.recipient,
    ...(typeof code === 'number' && code > 0 ? { code } : {}),
  };
}
