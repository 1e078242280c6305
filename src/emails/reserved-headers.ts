const RESERVED = new Set(
  [
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
  ].map((h) => h.toLowerCase()),
);

/**
 * Headers a caller may not set: the contract's list (From, To, Cc, Bcc, Subject, Date, Message-ID, MIME-*,
 * Content-*), plus the ones the service owns or sets from other fields (Reply-To, Sender, Return-Path,
 * X-Email-Id) and the trace and signature headers of mail servers (Received, DKIM-Signature), so that no
 * request can spoof them.
 */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED.has(lower) || lower.startsWith('content-') || lower.startsWith('mime-');
}
