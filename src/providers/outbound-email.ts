import type { MailAddress } from '../config/app-config';

export interface OutboundAttachment {
  filename: string;
  /** Base64, as the caller sent it: decoded only by the provider that needs bytes. */
  content: string;
  contentType?: string;
  contentId?: string;
}

/** A fully rendered message: what a provider needs to send, with nothing left to compute. */
export interface OutboundMessage {
  from: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo?: MailAddress;
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  attachments: OutboundAttachment[];
  tags: string[];
  metadata: Record<string, string>;
}

/** An outbound message with the email's id, which becomes `X-Email-Id` and the Message-ID's local part. */
export interface OutboundEmail extends OutboundMessage {
  id: string;
}
