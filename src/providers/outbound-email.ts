import type { MailAddress } from '../common/mail-address';

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
  /** The text part is to be made from `html` before sending (a template without text.hbs). */
  textFromHtml?: boolean;
  /**
   * The template and data to render html and text from before sending (a group notification's email: its
   * data is checked at accept time, and keeping it instead of the rendered result makes a 10,000-recipient
   * group a few hundred bytes per recipient in Redis rather than the whole HTML).
   */
  render?: {
    template: string;
    /** With `shared`, the recipient's own data only; else all of it (a group sent without shared data). */
    data: Record<string, unknown>;
    /**
     * The group whose shared data, stored once for the whole group, is merged with `data` at delivery (see
     * mergeGroupData), and this email's place in the group.
     */
    shared?: { groupId: string; member: number };
  };
  headers: Record<string, string>;
  attachments: OutboundAttachment[];
  tags: string[];
  metadata: Record<string, string>;
}

/** An outbound message with the email's id, which becomes `X-Email-Id` and the Message-ID's local part. */
export interface OutboundEmail extends OutboundMessage {
  id: string;
}
