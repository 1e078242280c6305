import type { MailAddress } from '../common/mail-address';
import type { OutboundMessage } from '../providers/outbound-email';
import type { RenderedTemplate } from '../templates/template-registry';
import type { RecipientDto, SendEmailDto } from './dto/send-email.dto';

const DAY_MS = 86_400_000;

const toMailAddress = (r: RecipientDto): MailAddress =>
  r.name ? { email: r.email, name: r.name } : { email: r.email };

/** The message to send, from a validated request and (for a template) its rendering. */
export function composeMessage(
  dto: SendEmailDto,
  defaultFrom: MailAddress,
  rendered?: RenderedTemplate,
): OutboundMessage {
  const content = rendered
    ? {
        subject: dto.subject ?? rendered.subject,
        ...(rendered.text !== undefined ? { text: rendered.text } : { textFromHtml: true }),
        ...(rendered.html !== undefined ? { html: rendered.html } : {}),
      }
    : {
        subject: dto.subject!,
        ...(dto.text !== undefined ? { text: dto.text } : {}),
        ...(dto.html !== undefined ? { html: dto.html } : {}),
      };
  return {
    from: dto.from ? toMailAddress(dto.from) : defaultFrom,
    to: dto.to.map(toMailAddress),
    cc: (dto.cc ?? []).map(toMailAddress),
    bcc: (dto.bcc ?? []).map(toMailAddress),
    ...(dto.replyTo ? { replyTo: toMailAddress(dto.replyTo) } : {}),
    ...content,
    headers: dto.headers ?? {},
    attachments: (dto.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: a.content,
      ...(a.contentType ? { contentType: a.contentType } : {}),
      ...(a.contentId ? { contentId: a.contentId } : {}),
    })),
    tags: dto.tags ?? [],
    metadata: dto.metadata ?? {},
  };
}

/**
 * One recipient's email of a group notification. Its subject is the rendered one (the record shows it); its
 * html and text are rendered from the kept template and data when it is sent (see OutboundMessage.render).
 */
export function composeGroupMessage(
  recipient: { email: string; name?: string },
  from: MailAddress,
  subject: string,
  render: NonNullable<OutboundMessage['render']>,
): OutboundMessage {
  return {
    from,
    to: [recipient.name ? { email: recipient.email, name: recipient.name } : { email: recipient.email }],
    cc: [],
    bcc: [],
    subject,
    render,
    headers: {},
    attachments: [],
    tags: [],
    metadata: {},
  };
}

type GroupRecipient = { email: string; name?: string; data?: Record<string, unknown> };

/**
 * A group recipient's template data: the shared data, then the recipient's own on top (key by key), and
 * `recipient` ({ email, name }) unless either already has that key. The result is
 * `{ recipient, ...shared, ...recipient.data }`, keys in that order.
 */
export function mergeGroupData(
  shared: Record<string, unknown> | undefined,
  recipient: GroupRecipient,
): Record<string, unknown> {
  return groupDataMerger(shared)(recipient);
}

/**
 * mergeGroupData for many recipients of one group. Each recipient needs a copy of the shared keys, but V8
 * clones an object that a literal spreads first as one block, while spreading the shared data after
 * `recipient` copies it key by key: with many shared keys and many recipients, that was most of a group's
 * accept time. So `{ recipient, ...shared }` is built once, and each recipient's data is a clone of it.
 */
export function groupDataMerger(
  shared: Record<string, unknown> | undefined,
): (recipient: GroupRecipient) => Record<string, unknown> {
  const base: Record<string, unknown> = { recipient: undefined, ...shared };
  const sharedHasRecipient = shared !== undefined && Object.hasOwn(shared, 'recipient');
  return (recipient) => {
    const merged = { ...base, ...recipient.data };
    if (!sharedHasRecipient && !(recipient.data && Object.hasOwn(recipient.data, 'recipient')))
      merged['recipient'] = { email: recipient.email, ...(recipient.name ? { name: recipient.name } : {}) };
    return merged;
  };
}

export type Schedule = { delayMs: number; sendAt?: number } | { problem: string };

/**
 * When an email is due: `sendAt` in the future schedules it (at most `maxDays` ahead); absent or past means
 * now. Returns a problem message for a date too far ahead.
 */
export function resolveSchedule(sendAt: string | undefined, now: number, maxDays: number): Schedule {
  if (sendAt === undefined) return { delayMs: 0 };
  const due = Date.parse(sendAt);
  if (Number.isNaN(due)) return { problem: 'must be a date-time with a time zone' };
  if (due <= now) return { delayMs: 0 };
  if (due - now > maxDays * DAY_MS) return { problem: `must be at most ${maxDays} days ahead` };
  return { delayMs: due - now, sendAt: due };
}
