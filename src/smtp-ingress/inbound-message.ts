import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';
import { headerReservation } from '../emails/reserved-headers';
import { PRIORITIES, type Priority } from '../queue/queue-names';

/**
 * How the ingress has mailparser read a message: no text made from HTML or HTML from text (the pipeline does
 * what the API does: a text part from HTML when there is none), links left alone, and `cid:` references kept
 * (mailparser would inline images as data: URIs, which many mail clients do not show).
 */
export const PARSER_OPTIONS = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  keepCidLinks: true,
} as const;

/** The header that picks the queue of an email sent over SMTP; removed before sending. */
export const PRIORITY_HEADER = 'x-priority-lane';

/**
 * Headers of an SMTP message that are dropped rather than carried over: those the service writes itself
 * (addresses, subject, date, ids, MIME structure: they come from the envelope and the parsed message
 * instead), ours, and those the hop from the client adds on the way whether the client wants them or not
 * (its relay's Received, a signing relay's DKIM-Signature and ARC set, a filter's Authentication-Results):
 * they describe how the message reached us, not the email the service sends, and the signatures would not
 * verify once it is rebuilt. Every other reserved header (an instruction to a provider, Resent-*, which a
 * client writes on purpose) is carried over, so that the API's check refuses the message as it refuses the
 * request (554).
 */
const HOP_HEADERS = new Set([PRIORITY_HEADER, 'received', 'dkim-signature', 'authentication-results']);

const carriedOver = (name: string): boolean => {
  const lower = name.toLowerCase();
  return headerReservation(lower) !== 'message' && !HOP_HEADERS.has(lower) && !lower.startsWith('arc-');
};

type Mailbox = { email: string; name?: string };

/** Every address a header names (groups flattened), lower-cased for matching, with its display name. */
function mailboxes(header: AddressObject | AddressObject[] | undefined): Map<string, Mailbox> {
  const found = new Map<string, Mailbox>();
  const visit = (entry: EmailAddress) => {
    if (entry.group) entry.group.forEach(visit);
    else if (entry.address)
      found.set(entry.address.toLowerCase(), {
        email: entry.address,
        ...(entry.name ? { name: entry.name } : {}),
      });
  };
  for (const object of [header ?? []].flat()) object.value.forEach(visit);
  return found;
}

export interface InboundEmail {
  /** The body of a POST /api/v1/emails for this message, to be validated as one. */
  request: Record<string, unknown>;
  priority: Priority;
}

/**
 * The REST request an SMTP message amounts to. The envelope's recipients are the recipients (a header may
 * name people the client did not send to, and Bcc is never in the headers): those named in To stay in `to`,
 * those in Cc in `cc`, the others are `bcc`. A message that names none of them in To or Cc goes to its one
 * recipient as `to`; with several, they would have to be disclosed to each other, so it is refused.
 * Subject, text, HTML, attachments (inline ones keep their Content-ID) and the other headers (List-Unsubscribe,
 * X-…) are taken as they are; `X-Priority-Lane` picks the priority (medium by default) and is not sent on.
 * Returns a reason instead when the message cannot be one email.
 */
export function inboundEmail(
  parsed: ParsedMail,
  envelopeRecipients: readonly string[],
): InboundEmail | string {
  const to = mailboxes(parsed.to);
  const cc = mailboxes(parsed.cc);
  const request: Record<string, unknown> = {};
  const lists: Record<'to' | 'cc' | 'bcc', Mailbox[]> = { to: [], cc: [], bcc: [] };
  for (const address of envelopeRecipients) {
    const key = address.toLowerCase();
    if (to.has(key)) lists.to.push(to.get(key)!);
    else if (cc.has(key)) lists.cc.push(cc.get(key)!);
    else lists.bcc.push({ email: address });
  }
  if (lists.to.length === 0 && lists.cc.length === 0) {
    if (lists.bcc.length > 1)
      return 'none of the recipients is named in To or Cc: send one message per recipient, or name them';
    lists.to = lists.bcc;
    lists.bcc = [];
  } else if (lists.to.length === 0) {
    lists.to = lists.cc;
    lists.cc = [];
  }
  request.to = lists.to;
  if (lists.cc.length > 0) request.cc = lists.cc;
  if (lists.bcc.length > 0) request.bcc = lists.bcc;

  const [from] = mailboxes(parsed.from).values();
  if (from) request.from = from;
  const [replyTo] = mailboxes(parsed.replyTo).values();
  if (replyTo) request.replyTo = replyTo;
  request.subject = parsed.subject ?? '';
  if (parsed.text) request.text = parsed.text;
  if (typeof parsed.html === 'string' && parsed.html !== '') request.html = parsed.html;
  if (parsed.attachments.length > 0)
    request.attachments = parsed.attachments.map((attachment, i) => ({
      filename: attachment.filename ?? `attachment-${i + 1}`,
      content: attachment.content.toString('base64'),
      contentType: attachment.contentType,
      ...(attachment.contentDisposition === 'inline' && attachment.cid ? { contentId: attachment.cid } : {}),
    }));

  const headers: Record<string, string> = {};
  for (const line of parsed.headerLines) {
    if (!carriedOver(line.key)) continue;
    // The original spelling of the name, and the value as the client wrote it (unfolded).
    const separator = line.line.indexOf(':');
    headers[line.line.slice(0, separator).trim()] = line.line
      .slice(separator + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
  }
  if (Object.keys(headers).length > 0) request.headers = headers;

  const lane = parsed.headers.get(PRIORITY_HEADER);
  const priority = typeof lane === 'string' ? lane.trim().toLowerCase() : 'medium';
  if (!(PRIORITIES as readonly string[]).includes(priority))
    return `${PRIORITY_HEADER} must be one of ${PRIORITIES.join(', ')}`;
  return { request: { ...request, priority }, priority: priority as Priority };
}
