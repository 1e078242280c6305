import type Mail from 'nodemailer/lib/mailer';
import type { MailAddress } from '../common/mail-address';
import type { OutboundEmail } from './outbound-email';

const toAddress = (a: MailAddress): Mail.Address => ({ address: a.email, name: a.name ?? '' });

export function domainOf(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1) || 'freeface.local';
}

/** Our Message-ID: `<emailId@from-domain>`, the same on every attempt, so receivers can drop repeats. */
export function messageIdOf(email: Pick<OutboundEmail, 'id' | 'from'>): string {
  return `<${email.id}@${domainOf(email.from.email)}>`;
}

/** nodemailer's message for an outbound email, with our Message-ID and X-Email-Id. */
export function toMailOptions(email: OutboundEmail): Mail.Options {
  return {
    messageId: messageIdOf(email),
    from: toAddress(email.from),
    to: email.to.map(toAddress),
    cc: email.cc.map(toAddress),
    bcc: email.bcc.map(toAddress),
    ...(email.replyTo ? { replyTo: toAddress(email.replyTo) } : {}),
    subject: email.subject,
    ...(email.text !== undefined ? { text: email.text } : {}),
    ...(email.html !== undefined ? { html: email.html } : {}),
    headers: { ...email.headers, 'X-Email-Id': email.id },
    attachments: email.attachments.map((a) => ({
      filename: a.filename,
      content: a.content,
      encoding: 'base64',
      ...(a.contentType ? { contentType: a.contentType } : {}),
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
  };
}
