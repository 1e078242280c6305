import { verify, type KeyObject } from 'node:crypto';

/*
 * Amazon SNS's HTTP(S) messages, as its developer guide documents them ("HTTP/HTTPS notification JSON
 * format", "… subscription confirmation JSON format", "Verifying the signatures of Amazon SNS messages"):
 * a JSON document whose `Signature` is the base64 of an RSA signature (SignatureVersion 1: SHA1withRSA,
 * 2: SHA256withRSA) over a string made of fixed fields, each as its name, a line feed, its value and a line
 * feed, in this order:
 * - Notification: Message, MessageId, Subject (only when present), Timestamp, TopicArn, Type;
 * - SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId, SubscribeURL, Timestamp, Token,
 *   TopicArn, Type.
 * The public key is in the X.509 certificate at `SigningCertURL`.
 */

export const SNS_MESSAGE_TYPES = [
  'Notification',
  'SubscriptionConfirmation',
  'UnsubscribeConfirmation',
] as const;
export type SnsMessageType = (typeof SNS_MESSAGE_TYPES)[number];

export interface SnsMessage {
  Type: SnsMessageType;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  /** Confirmations only: the URL to GET to confirm the subscription. */
  SubscribeURL?: string;
  Token?: string;
}

/**
 * How old a message may be. SNS signs a message once and sends the same one on every retry, and its retries
 * of an HTTP(S) delivery stop within an hour (a hard limit of the delivery policy); two hours leave room for
 * throttled deliveries and clock skew, and stay far below the three days event ids are remembered, so a
 * captured message cannot be replayed once its id is forgotten.
 */
export const SNS_MESSAGE_MAX_AGE_MS = 2 * 3_600_000;
/** How far in the future a Timestamp may be: clock skew only. */
export const SNS_MESSAGE_MAX_SKEW_MS = 5 * 60_000;

const NOTIFICATION_FIELDS = ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const;
const CONFIRMATION_FIELDS = [
  'Message',
  'MessageId',
  'SubscribeURL',
  'Timestamp',
  'Token',
  'TopicArn',
  'Type',
] as const;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The body as an SNS message when it has every field its type needs (all strings); else undefined. */
export function parseSnsMessage(body: unknown): SnsMessage | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const m = body as Record<string, unknown>;
  const isString = (name: string) => typeof m[name] === 'string';
  if (!(SNS_MESSAGE_TYPES as readonly unknown[]).includes(m.Type)) return undefined;
  if (m.SignatureVersion !== '1' && m.SignatureVersion !== '2') return undefined;
  const required = ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'Signature', 'SigningCertURL'];
  if (m.Type !== 'Notification') required.push('SubscribeURL', 'Token');
  if (!required.every(isString) || (m.Subject !== undefined && !isString('Subject'))) return undefined;
  return m as unknown as SnsMessage;
}

/** The string SNS signs for this message (see the fields above). */
export function snsStringToSign(message: SnsMessage): string {
  const fields = message.Type === 'Notification' ? NOTIFICATION_FIELDS : CONFIRMATION_FIELDS;
  let text = '';
  for (const field of fields) {
    const value = message[field];
    if (value !== undefined) text += `${field}\n${value}\n`;
  }
  return text;
}

/** Whether the message's signature verifies with the signing certificate's public key. */
export function isSnsSignatureValid(message: SnsMessage, publicKey: KeyObject): boolean {
  if (!BASE64.test(message.Signature)) return false;
  try {
    return verify(
      message.SignatureVersion === '1' ? 'sha1' : 'sha256',
      Buffer.from(snsStringToSign(message), 'utf8'),
      publicKey,
      Buffer.from(message.Signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Whether the message was signed recently enough to be a delivery or a retry of one (not a replay). */
export function isSnsTimestampFresh(message: SnsMessage, nowMs: number): boolean {
  const signedAt = Date.parse(message.Timestamp);
  return (
    Number.isFinite(signedAt) &&
    signedAt >= nowMs - SNS_MESSAGE_MAX_AGE_MS &&
    signedAt <= nowMs + SNS_MESSAGE_MAX_SKEW_MS
  );
}
