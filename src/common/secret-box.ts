import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';

/**
 * Encrypts secrets the service must read back from Redis (AES-256-GCM under a key derived from
 * WEBHOOK_SECRETS_KEY): webhook signing secrets, which the worker needs to sign with, so they cannot be
 * hashed, and the stored response of POST /webhooks that an Idempotency-Key replays. A copy of Redis (a
 * backup, a replica, a `MONITOR`) must not be enough to forge our signatures.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(passphrase: string) {
    this.key = createHash('sha256').update(passphrase).digest();
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`;
  }

  /** The plain text; throws when the key is another one or the value was changed. */
  open(stored: string): string {
    if (!stored.startsWith(`${VERSION}:`)) throw new Error('not a sealed secret');
    const bytes = Buffer.from(stored.slice(VERSION.length + 1), 'base64');
    // A full 16-byte tag only: GCM would also verify a truncated one, which is easier to forge.
    if (bytes.length < 28) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, 12), { authTagLength: 16 });
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  }
}
