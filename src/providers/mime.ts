import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutboundEmail } from './outbound-email';
import { toMailOptions } from './mail-options';

/**
 * The email as one RFC 5322 message (what SMTP sends), built once with nodemailer's composer for providers
 * that take raw MIME. File and URL access are off: no attachment can make the worker read a file or a URL.
 * Bcc is left out of the headers; pass the recipients separately as the envelope.
 */
export function buildMime(email: OutboundEmail): Promise<Buffer> {
  const composer = new MailComposer({
    ...toMailOptions(email),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

/** Every recipient of the email (to, cc and bcc): the envelope of a raw send. */
export function envelopeRecipients(email: OutboundEmail): string[] {
  return [...email.to, ...email.cc, ...email.bcc].map((address) => address.email);
}
