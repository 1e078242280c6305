/**
 * Headers the service writes from the email's own fields or sets itself: the contract's list (From, To, Cc,
 * Bcc, Subject, Date, Message-ID, MIME-*, Content-*), plus Reply-To, Sender, Return-Path and X-Email-Id.
 */
const MESSAGE_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'reply-to',
  'sender',
  'return-path',
  'x-email-id',
]);
const MESSAGE_PREFIXES = ['content-', 'mime-'];

/**
 * Instructions to a provider rather than parts of the message: SES's configuration set, message tags and
 * sending authorisation, SendGrid's SMTP API and X-SG-* fields, Mailgun's options. A caller who set them
 * would pick the account's event destination, IP pool or identity in place of the service's configuration.
 */
const PROVIDER_HEADERS = new Set(['x-smtpapi']);
const PROVIDER_PREFIXES = ['x-ses-', 'x-sg-', 'x-mailgun-'];

/**
 * Fields that mail servers write as a message travels (trace fields, signatures and their verdicts), and
 * the Resent-* block of a message someone sent on again. Written by a caller, they forge the message's
 * history for the receiver and for whoever reads its headers after a complaint.
 */
const TRACE_HEADERS = new Set(['received', 'dkim-signature', 'authentication-results']);
const TRACE_PREFIXES = ['arc-', 'resent-'];

/** Why a custom header is reserved: set by the service, an instruction to a provider, or a trace field. */
export type HeaderReservation = 'message' | 'provider' | 'trace';

const matches = (name: string, names: ReadonlySet<string>, prefixes: readonly string[]) =>
  names.has(name) || prefixes.some((prefix) => name.startsWith(prefix));

/** Why a caller may not set this header (any case), or undefined when it may. */
export function headerReservation(name: string): HeaderReservation | undefined {
  const lower = name.toLowerCase();
  if (matches(lower, MESSAGE_HEADERS, MESSAGE_PREFIXES)) return 'message';
  if (matches(lower, PROVIDER_HEADERS, PROVIDER_PREFIXES)) return 'provider';
  if (matches(lower, TRACE_HEADERS, TRACE_PREFIXES)) return 'trace';
  return undefined;
}

/** What the API says about a reserved header, naming it. */
export function reservedHeaderProblem(name: string): string | undefined {
  switch (headerReservation(name)) {
    case 'message':
      return `header "${name}" is set by the service and cannot be overridden`;
    case 'provider':
      return `header "${name}" would instruct the email provider and cannot be set`;
    case 'trace':
      return `header "${name}" is written by mail servers in transit and cannot be set`;
    default:
      return undefined;
  }
}
