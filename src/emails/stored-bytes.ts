import type { NewEmail } from './email-record';

/**
 * What accepting these emails stores for their delivery, in bytes: each message as JSON, and a group's
 * shared data once (every email of the group refers to the same one). The daily byte quota counts this.
 */
export function storedBytes(emails: readonly NewEmail[]): number {
  let bytes = 0;
  const shared = new Set<NewEmail['shared']>();
  for (const email of emails) {
    bytes += Buffer.byteLength(JSON.stringify(email.message), 'utf8');
    if (email.shared && !shared.has(email.shared)) {
      shared.add(email.shared);
      bytes += email.shared.data.bytes;
    }
  }
  return bytes;
}
