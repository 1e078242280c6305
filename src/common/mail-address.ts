import { isEmail } from 'class-validator';

/** A mailbox: an address and, optionally, the display name that goes with it. */
export interface MailAddress {
  email: string;
  name?: string;
}

/** The one definition of a valid address, shared by config and request validation. */
export function isMailAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && !/[\r\n]/.test(value) && isEmail(value);
}

/**
 * Parses `noreply@example.com` or `FreeFace <noreply@example.com>` (the form people write in `EMAIL_FROM`).
 * Returns undefined when the text is not one valid mailbox.
 */
export function parseMailbox(text: string): MailAddress | undefined {
  const trimmed = text.trim();
  const named = /^(?:"([^"]*)"|([^<"]*?))\s*<([^<>]+)>$/.exec(trimmed);
  if (named) {
    const name = (named[1] ?? named[2] ?? '').trim();
    const email = named[3]!.trim();
    if (!isMailAddress(email) || /[\r\n]/.test(name)) return undefined;
    return name ? { email, name } : { email };
  }
  return isMailAddress(trimmed) ? { email: trimmed } : undefined;
}
