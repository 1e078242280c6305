import Mailgun from 'mailgun.js';
import type { MailgunMessageData } from 'mailgun.js/definitions';
import { detectMimeType } from 'nodemailer/lib/mime-funcs';
import type { MailAddress } from '../common/mail-address';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import type { DeliveryError } from './delivery-errors';
import type { EmailProvider, SendResult } from './email-provider';
import { classifyHttpFailure, networkFailure } from './http-errors';
import { messageIdOf } from './mail-options';
import type { OutboundAttachment, OutboundEmail } from './outbound-email';

/**
 * Mailgun's limits on `o:tag`: at most 3 per message, ASCII, at most 128 characters, case-insensitive
 * (documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/track-tagging).
 */
export const MAILGUN_MAX_TAGS = 3;
const MAILGUN_TAG = /^[\x20-\x7e]{1,128}$/;

/**
 * The SDK's request timeout (axios's, which fires once the connection has sat idle this long). Below the default
 * SHUTDOWN_TIMEOUT_MS (25 s): a send stuck on a Mailgun that stopped answering ends before the worker gives up on
 * it at SIGTERM, so its outcome is recorded instead of it being resumed later as a possible duplicate.
 */
export const MAILGUN_TIMEOUT_MS = 20_000;

/** Our user variable carrying the email's id, which Mailgun hands back in every event and webhook. */
const EMAIL_ID_VARIABLE = 'v:email_id';

/** The headers this mapping sets itself: a custom header of the same name (any case) is left out. */
const OWN_HEADERS = new Set(['reply-to', 'message-id', 'x-email-id']);

/** The form fields of `POST /v3/{domain}/messages`: text fields (repeated when a list) and file parts. */
export type MailgunFields = Record<string, string | string[] | File[]>;

/** `Name <address>`, the name quoted when it holds anything beyond letters, digits, spaces and atext. */
export function formatAddress(address: MailAddress): string {
  if (!address.name) return address.email;
  const name = /^[\w !#$%&'*+/=?^`{|}~-]+$/.test(address.name)
    ? address.name
    : `"${address.name.replace(/["\\]/g, '\\$&')}"`;
  return `${name} <${address.email}>`;
}

/**
 * The tags Mailgun will take: ASCII, at most 128 characters, distinct without regard to case, and only the first
 * 3 of them (Mailgun keeps no more; the email's record keeps them all). Our API already holds tags to 1-100
 * printable ASCII characters, so only the count ever bites.
 */
export function mailgunTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const tag of tags) {
    const key = tag.toLowerCase();
    if (!MAILGUN_TAG.test(tag) || seen.has(key)) continue;
    seen.add(key);
    kept.push(tag);
    if (kept.length === MAILGUN_MAX_TAGS) break;
  }
  return kept;
}

/**
 * An attachment as a file part. The content type is the caller's or, as nodemailer does on the SMTP route,
 * guessed from the file name. Mailgun makes an inline file's Content-ID of its file name (its docs show
 * `inline=@cartman.jpg` shown by `cid:cartman.jpg`), so an inline part is named after its content id.
 */
function toFile(attachment: OutboundAttachment): File {
  const name = attachment.contentId ?? attachment.filename;
  const type = attachment.contentType ?? detectMimeType(attachment.filename);
  return new File([Buffer.from(attachment.content, 'base64')], name, { type });
}

/**
 * The email as the fields of Mailgun's form API (POST /v3/{domain}/messages, multipart/form-data): from, to,
 * cc, bcc (Mailgun keeps Bcc out of the delivered headers), subject, text, html; `h:` headers: Reply-To, our
 * Message-ID `<emailId@from-domain>` (Mailgun keeps an `h:Message-Id` of that form), X-Email-Id and the custom
 * headers; `o:tag` (see mailgunTags); metadata as `v:<key>` user variables plus `v:email_id` (ours wins over a
 * metadata key of that name); attachments as `attachment` files and inline ones as `inline` files.
 */
export function toMailgunMessage(email: OutboundEmail): MailgunFields {
  const fields: MailgunFields = {
    from: formatAddress(email.from),
    to: email.to.map(formatAddress),
  };
  if (email.cc.length > 0) fields.cc = email.cc.map(formatAddress);
  if (email.bcc.length > 0) fields.bcc = email.bcc.map(formatAddress);
  fields.subject = email.subject;
  if (email.text !== undefined) fields.text = email.text;
  if (email.html !== undefined) fields.html = email.html;

  for (const [name, value] of Object.entries(email.headers)) {
    if (!OWN_HEADERS.has(name.toLowerCase())) fields[`h:${name}`] = value;
  }
  if (email.replyTo) fields['h:Reply-To'] = formatAddress(email.replyTo);
  fields['h:Message-Id'] = messageIdOf(email);
  fields['h:X-Email-Id'] = email.id;

  const tags = mailgunTags(email.tags);
  if (tags.length > 0) fields['o:tag'] = tags;
  for (const [key, value] of Object.entries(email.metadata)) fields[`v:${key}`] = value;
  fields[EMAIL_ID_VARIABLE] = email.id;

  const attached = email.attachments.filter((a) => !a.contentId).map(toFile);
  const inline = email.attachments.filter((a) => a.contentId).map(toFile);
  if (attached.length > 0) fields.attachment = attached;
  if (inline.length > 0) fields.inline = inline;
  return fields;
}

/** The shape of mailgun.js's APIError (the class itself is not exported). */
interface MailgunApiError {
  type: 'MailgunAPIError';
  status: number;
  /** `error` of the answer's body, else the HTTP reason phrase, else the network error's code. */
  message: string;
  /** `message` of the answer's body (or the whole body when it is text), else the network error's text. */
  details: string;
}

function isMailgunApiError(error: unknown): error is MailgunApiError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { type?: unknown }).type === 'MailgunAPIError' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

/**
 * mailgun.js turns a request that got no answer (refused, reset, DNS, timeout) into an APIError of status 400
 * whose message is the error's code (`ECONNREFUSED`, `ECONNABORTED`, `ERR_NETWORK`): taken at its word that
 * would be a permanent failure, and a Mailgun outage would dead-letter every email. A real answer carries its
 * reason phrase (`Bad Request`) instead; one with neither is counted as no answer, the safe side.
 */
function isUnanswered(error: MailgunApiError): boolean {
  return (
    error.status === 400 && (error.message === '' || /^(E[A-Z0-9_]+|ERR_[A-Z0-9_]+)$/.test(error.message))
  );
}

/**
 * A failed send as a delivery verdict: network failures are transient; an answer is classified by status, with
 * Mailgun's own message (`{"message": "..."}`, or the text body such as `Forbidden`) as the reason. The API key
 * (and the basic-auth value made from it) is cut out of any reason, since reasons are stored and shown.
 */
export function classifyMailgunError(error: unknown, apiKey: string): DeliveryError {
  const scrub = (text: string) => {
    let clean = text.replace(/\s+/g, ' ').trim();
    if (apiKey.length > 0) {
      for (const secret of [apiKey, Buffer.from(`api:${apiKey}`).toString('base64')]) {
        clean = clean.split(secret).join('[redacted]');
      }
    }
    return clean;
  };
  if (!isMailgunApiError(error)) {
    const text = error instanceof Error ? error.message : String(error);
    return networkFailure('mailgun', new Error(scrub(text), { cause: error }));
  }
  if (isUnanswered(error)) {
    return networkFailure('mailgun', new Error(scrub(error.details || error.message), { cause: error }));
  }
  // An HTML error page (a proxy in front of Mailgun) says less than its reason phrase.
  const details =
    typeof error.details === 'string' && !error.details.trimStart().startsWith('<') ? error.details : '';
  return classifyHttpFailure('mailgun', error.status, scrub(details || error.message), error);
}

/**
 * Mailgun through its official SDK (mailgun.js) and the form API, POST /v3/{domain}/messages, rather than the
 * MIME route (`message` with a raw MIME built by buildMime): every part is a documented field that Mailgun
 * validates and shows in its logs (to, subject, tags, variables), attachments travel as raw bytes instead of
 * base64 inside a MIME (which is a third larger), and the one thing the MIME route would add, our own
 * Message-ID, the form API takes too as `h:Message-Id`. Node's global FormData (with File parts, which keep
 * their content type) is the FormData the SDK is given.
 */
export class MailgunProvider implements EmailProvider {
  readonly name = 'mailgun' as const;
  private readonly client: ReturnType<Mailgun['client']>;
  private readonly domain: string;
  private readonly apiKey: string;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const settings = config.providers.mailgun;
    if (!settings) throw new Error('the mailgun provider needs MAILGUN_API_KEY and MAILGUN_DOMAIN');
    this.domain = settings.domain;
    this.apiKey = settings.apiKey;
    this.client = new Mailgun(FormData).client({
      username: 'api',
      key: settings.apiKey,
      url: settings.url,
      timeout: MAILGUN_TIMEOUT_MS,
    });
  }

  async send(email: OutboundEmail): Promise<SendResult> {
    if (email.tags.length > MAILGUN_MAX_TAGS) {
      this.logger.debug(
        { tags: email.tags.length, kept: MAILGUN_MAX_TAGS },
        'mailgun takes 3 tags; extra tags left out',
      );
    }
    let answer: { id?: string };
    try {
      // The SDK's type wants text, html, template or message as a literal key. The API requires text or html;
      // an email with neither gets Mailgun's 400, which is the permanent failure it should be.
      answer = await this.client.messages.create(this.domain, toMailgunMessage(email) as MailgunMessageData);
    } catch (error) {
      throw classifyMailgunError(error, this.apiKey);
    }
    if (!answer.id) {
      // Accepted (2xx) without an id: sending again could deliver twice, so record the Message-ID we set.
      this.logger.warn('mailgun accepted the message without an id; recording our Message-ID');
      return { providerMessageId: messageIdOf(email) };
    }
    return { providerMessageId: answer.id };
  }

  /**
   * No network call: Mailgun has no endpoint that checks a key without sending, and the domain-level sending
   * key (the recommended kind) may call nothing but the sending endpoints, so a probe such as GET
   * /v3/domains/{domain} would fail with a key that sends fine. A bad key shows on the first send as a 401.
   */
  verify(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to drain: the SDK keeps no pool or queue of its own, and a send in flight ends by its timeout. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
