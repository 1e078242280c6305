import { Client } from '@sendgrid/client';
import { MailService, type ClientResponse, type MailDataRequired } from '@sendgrid/mail';
import { detectMimeType, encodeWords } from 'nodemailer/lib/mime-funcs';
import type { MailAddress } from '../common/mail-address';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import { PermanentDeliveryError, type DeliveryError } from './delivery-errors';
import type { EmailProvider, SendResult } from './email-provider';
import { classifyHttpFailure, networkFailure } from './http-errors';
import { domainOf } from './mail-options';
import type { OutboundEmail } from './outbound-email';

/*
 * Wire-format facts, from SendGrid's v3 Mail Send reference (docs.sendgrid.com/api-reference/mail-send,
 * "Request Body Parameters" and "Limitations") and its error list (…/mail-send/errors):
 * - `personalizations[].to` is required; an address may appear only once in a personalization (to, cc and
 *   bcc together); recipient names may not contain `;` or `,`.
 * - `content`: each value at least one character; text/plain first, then text/html.
 * - `headers` may not be one of x-sg-id, x-sg-eid, received, dkim-signature, Content-Type,
 *   Content-Transfer-Encoding, To, From, Subject, Reply-To, CC, BCC; Message-ID is not reserved. Values are
 *   strings and must be encoded by the sender when they hold non-ASCII characters.
 * - `categories`: at most 10, unique, ASCII, at most 255 characters each.
 * - `custom_args`: string values, at most 10,000 bytes in all.
 * - `attachments[]`: base64 `content` and `filename` required; `filename` and `type` without `;`, `,` or
 *   line breaks; `disposition` is `inline` or `attachment`; `content_id` names an inline part.
 * - 202 Accepted carries `X-Message-Id`, the id that SendGrid's Event Webhook reports (as the prefix of
 *   `sg_message_id`); errors are `{ "errors": [{ "message", "field", "help" }] }`.
 */

const PROVIDER = 'sendgrid';

/** Header names SendGrid refuses in `headers` (lower-cased): it sets them itself. */
const SENDGRID_RESERVED_HEADERS = new Set([
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'content-type',
  'content-transfer-encoding',
  'to',
  'from',
  'subject',
  'reply-to',
  'cc',
  'bcc',
]);

/** Headers we set on every message; a caller's header of the same name (in any case) gives way. */
const OUR_HEADERS = new Set(['message-id', 'x-email-id']);

const MAX_CATEGORIES = 10;
const MAX_CATEGORY_LENGTH = 255;
/** SendGrid: "the total length of custom arguments must be less than 10000 bytes". */
const MAX_CUSTOM_ARGS_BYTES = 10_000;
/** A hung connection must not hold a worker slot: the SDK's client has no timeout of its own. */
const REQUEST_TIMEOUT_MS = 30_000;

const NON_ASCII = /[^\x20-\x7e]/;

export interface SendGridAddress {
  email: string;
  name?: string;
}

export interface SendGridAttachment {
  content: string;
  filename: string;
  type: string;
  disposition: 'inline' | 'attachment';
  content_id?: string;
}

/** The body of `POST /v3/mail/send`, with SendGrid's own (snake_case) field names. */
export interface SendGridMessage {
  personalizations: { to: SendGridAddress[]; cc?: SendGridAddress[]; bcc?: SendGridAddress[] }[];
  from: SendGridAddress;
  reply_to?: SendGridAddress;
  subject: string;
  content: { type: 'text/plain' | 'text/html'; value: string }[];
  attachments?: SendGridAttachment[];
  headers: Record<string, string>;
  categories?: string[];
  custom_args: Record<string, string>;
}

const address = (a: MailAddress): SendGridAddress =>
  a.name ? { email: a.email, name: a.name } : { email: a.email };

/** SendGrid refuses `;` and `,` in recipient names; they become spaces rather than failing the email. */
function recipient(a: MailAddress): SendGridAddress {
  const name = a.name?.replace(/[;,]/g, ' ').replace(/\s+/g, ' ').trim();
  return name ? { email: a.email, name } : { email: a.email };
}

/**
 * Recipients of one personalization with each address once (SendGrid refuses the whole request for a
 * repeat): the first mention wins, in the order to, cc, bcc, so an address in both To and Bcc stays visible.
 */
function uniqueRecipients(
  email: OutboundEmail,
): Pick<SendGridMessage['personalizations'][number], 'to' | 'cc' | 'bcc'> {
  const seen = new Set<string>();
  const keep = (list: MailAddress[]) =>
    list.filter((a) => {
      const key = a.email.toLowerCase();
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const [to, cc, bcc] = [keep(email.to), keep(email.cc), keep(email.bcc)];
  return {
    to: to.map(recipient),
    ...(cc.length ? { cc: cc.map(recipient) } : {}),
    ...(bcc.length ? { bcc: bcc.map(recipient) } : {}),
  };
}

/** SendGrid passes header values through as given: non-ASCII ones must arrive as RFC 2047 encoded words. */
const headerValue = (value: string) => (NON_ASCII.test(value) ? encodeWords(value, 'Q', 52) : value);

function headersOf(email: OutboundEmail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(email.headers)) {
    const lower = name.toLowerCase();
    // The API already refuses most of these; Received, DKIM-Signature and X-SG-* would make SendGrid refuse
    // the whole email, and they describe a hop that SendGrid adds itself: they are dropped.
    if (SENDGRID_RESERVED_HEADERS.has(lower) || OUR_HEADERS.has(lower)) continue;
    headers[name] = headerValue(value);
  }
  // Our Message-ID, as SMTP sends it: SendGrid keeps a Message-ID given in `headers` (it is not reserved), so
  // replies thread on the same id whichever provider carried the email. Events are matched by X-Message-Id
  // and custom_args.email_id, not by it.
  headers['Message-ID'] = `<${email.id}@${domainOf(email.from.email)}>`;
  headers['X-Email-Id'] = email.id;
  return headers;
}

/**
 * Our tags as SendGrid categories. SendGrid refuses the whole email for more than 10 categories, a repeat,
 * a non-ASCII one or one over 255 characters, and a category is only a statistics bucket: rather than fail
 * the email, non-ASCII tags are dropped, long ones cut to 255, repeats removed and only the first 10 kept.
 */
function categoriesOf(tags: readonly string[]): string[] {
  const categories = new Set<string>();
  for (const tag of tags) {
    if (categories.size === MAX_CATEGORIES) break;
    if (tag && !NON_ASCII.test(tag)) categories.add(tag.slice(0, MAX_CATEGORY_LENGTH));
  }
  return [...categories];
}

/**
 * Our metadata plus `email_id` (which the Event Webhook echoes back, to match events to emails) as
 * custom_args. SendGrid refuses the email when they exceed 10,000 bytes, so `email_id` always goes in and
 * metadata entries are kept in order while they fit; the rest are dropped (the API allows 20 entries of up to
 * 500 characters, which can exceed the limit). A metadata key `email_id` gives way to ours.
 */
function customArgsOf(email: OutboundEmail): Record<string, string> {
  const kept: Record<string, string> = {};
  const sizeWith = (extra: Record<string, string>) =>
    Buffer.byteLength(JSON.stringify({ ...kept, ...extra, email_id: email.id }), 'utf8');
  for (const [key, value] of Object.entries(email.metadata)) {
    if (key === 'email_id') continue;
    if (sizeWith({ [key]: value }) < MAX_CUSTOM_ARGS_BYTES) kept[key] = value;
  }
  return { ...kept, email_id: email.id };
}

/** SendGrid refuses `;`, `,` and line breaks in an attachment's file name; they become `_`. */
const safeFilename = (filename: string) => filename.replace(/[;,\r\n]/g, '_');

function attachmentsOf(email: OutboundEmail): SendGridAttachment[] {
  return email.attachments.map((a) => {
    const contentId = a.contentId?.replace(/^<|>$/g, '');
    return {
      // SendGrid wants plain base64: no line breaks, which some encoders insert every 76 characters.
      content: a.content.replace(/\s+/g, ''),
      filename: safeFilename(a.filename),
      // Guessed from the file name when absent, as SMTP (nodemailer) does, so both providers agree.
      type: (a.contentType ?? detectMimeType(a.filename)).split(';')[0]!.trim(),
      disposition: contentId ? 'inline' : 'attachment',
      ...(contentId ? { content_id: contentId } : {}),
    };
  });
}

/** The SendGrid v3 Mail Send request body for an outbound email (pure: no I/O, no SDK). */
export function toSendGridMessage(email: OutboundEmail): SendGridMessage {
  const content: SendGridMessage['content'] = [];
  // SendGrid requires text/plain before text/html, and refuses an empty value.
  if (email.text) content.push({ type: 'text/plain', value: email.text });
  if (email.html) content.push({ type: 'text/html', value: email.html });
  const attachments = attachmentsOf(email);
  const categories = categoriesOf(email.tags);
  return {
    personalizations: [uniqueRecipients(email)],
    from: address(email.from),
    ...(email.replyTo ? { reply_to: address(email.replyTo) } : {}),
    subject: email.subject,
    content,
    ...(attachments.length ? { attachments } : {}),
    headers: headersOf(email),
    ...(categories.length ? { categories } : {}),
    custom_args: customArgsOf(email),
  };
}

/** What the SDK's ResponseError carries: `code` is the HTTP status, `response.body` SendGrid's JSON. */
interface SendGridResponseError {
  code: number;
  message?: string;
  response?: { body?: unknown; headers?: unknown };
}

const isResponseError = (error: unknown): error is SendGridResponseError =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { code?: unknown }).code === 'number' &&
  typeof (error as { response?: unknown }).response === 'object';

/** An error raised before any HTTP answer: axios's own (refused, reset, timed out) or a Node system error. */
const isRequestError = (error: unknown): error is Error & { code?: string } =>
  error instanceof Error &&
  ((error as { isAxiosError?: unknown }).isAxiosError === true ||
    typeof (error as { code?: unknown }).code === 'string');

/** SendGrid's error messages (with the field each names), joined; the status text when it sent none. */
function reasonOf(error: SendGridResponseError): string {
  let body = error.response?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON (a proxy's page, say): the status text says enough
    }
  }
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  const messages = Array.isArray(errors)
    ? errors.flatMap((e: { message?: unknown; field?: unknown }) =>
        typeof e?.message === 'string'
          ? [typeof e.field === 'string' ? `${e.message} (${e.field})` : e.message]
          : [],
      )
    : [];
  return messages.length > 0 ? messages.join('; ') : error.message || 'no reason given';
}

/**
 * Classifies a failed send. SendGrid's answer (the SDK's ResponseError) goes by status: 429 and 5xx are
 * transient, any other 4xx (400 bad request, 401/403 refused key, 413 too large) permanent, with SendGrid's
 * messages as the reason. No answer at all is a network failure, transient. Anything else was thrown by the
 * SDK while checking the message, before any request: the same message would fail again, so it is permanent.
 * The axios error is not kept as the cause: its request config holds the Authorization header.
 */
export function classifySendGridError(error: unknown): DeliveryError {
  if (isResponseError(error)) return classifyHttpFailure(PROVIDER, error.code, reasonOf(error));
  if (isRequestError(error))
    return networkFailure(PROVIDER, Object.assign(new Error(error.message), { code: error.code }));
  const message = error instanceof Error ? error.message : String(error);
  return new PermanentDeliveryError(PROVIDER, `the SendGrid SDK refused the message: ${message}`);
}

/** The text with every occurrence of the secret replaced. */
const redact = (text: string, secret: string) => (secret ? text.split(secret).join('[redacted]') : text);

/**
 * SendGrid through the official SDK (`@sendgrid/mail`), on a Client of its own (not the module's shared
 * singleton, so no other code or configuration can change its key or base URL), pointed at
 * SENDGRID_BASE_URL. The message is built by toSendGridMessage in SendGrid's documented snake_case: the SDK
 * accepts those names and sends them as they are, whereas its camelCase `contentId` would reach the wire
 * unconverted. The provider message id is SendGrid's X-Message-Id.
 */
export class SendGridProvider implements EmailProvider {
  readonly name = 'sendgrid' as const;
  private readonly mail: MailService;
  private readonly apiKey: string;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const settings = config.providers.sendgrid;
    if (!settings) throw new Error('SendGrid provider enabled without its settings (SENDGRID_API_KEY)');
    this.apiKey = settings.apiKey;
    const client = new Client();
    client.setApiKey(settings.apiKey);
    // After setApiKey, which resets the base URL to SendGrid's global one.
    client.setDefaultRequest('baseUrl', settings.baseUrl);
    this.mail = new MailService();
    this.mail.setClient(client);
    this.mail.setTimeout(REQUEST_TIMEOUT_MS);
  }

  async send(email: OutboundEmail): Promise<SendResult> {
    let response: ClientResponse;
    try {
      [response] = await this.mail.send(toSendGridMessage(email) as unknown as MailDataRequired);
    } catch (error) {
      const failure = classifySendGridError(error);
      // SendGrid never echoes the key, but the reason is stored, logged and shown: make sure of it.
      failure.message = redact(failure.message, this.apiKey);
      throw failure;
    }
    const headers = (response.headers ?? {}) as Record<string, unknown>;
    const messageId = headers['x-message-id'];
    if (typeof messageId === 'string' && messageId) {
      this.logger.debug({ sendgridMessageId: messageId, status: response.statusCode }, 'SendGrid accepted');
      return { providerMessageId: messageId };
    }
    // Accepted without an id (never seen from SendGrid): failing now would send the email twice. Events can
    // still be matched by custom_args.email_id, so our Message-ID stands in.
    this.logger.warn({ status: response.statusCode }, 'SendGrid accepted the email without an X-Message-Id');
    return { providerMessageId: `<${email.id}@${domainOf(email.from.email)}>` };
  }

  /**
   * Makes no call: SendGrid has no cheap, side-effect-free check that a send-only (Mail Send) key may use,
   * and a start that depends on SendGrid being reachable would stop workers that could send through the other
   * providers. A wrong key shows on the first send as a 401, a permanent failure with SendGrid's reason.
   */
  verify(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to drain: each send is one HTTP request through Node's shared agents. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
