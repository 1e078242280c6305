import type { OutboundMessage } from '../providers/outbound-email';
import type { NewEmail } from './email-record';

/**
 * Each message's JSON, made once (a message is not changed once built): counted for the byte quota, then
 * written as it is.
 */
const serialized = new WeakMap<OutboundMessage, string>();

/** A new email's message as it is stored (JSON). */
export function messageJson(message: OutboundMessage): string {
  let json = serialized.get(message);
  if (json === undefined) {
    json = JSON.stringify(message);
    serialized.set(message, json);
  }
  return json;
}

/**
 * What accepting these emails stores for their delivery, in bytes: each message as JSON, and a group's
 * shared data once (every email of the group refers to the same one). The daily byte quota counts this.
 */
export function storedBytes(emails: readonly NewEmail[]): number {
  let bytes = 0;
  const shared = new Set<NewEmail['shared']>();
  for (const email of emails) {
    bytes += Buffer.byteLength(messageJson(email.message), 'utf8');
    if (email.shared && !shared.has(email.shared)) {
      shared.add(email.shared);
      bytes += email.shared.data.bytes;
    }
  }
  return bytes;
}
