// Pure token format rules, with no Nest or project imports: `scripts/token-generate.mjs` loads this file
// directly through Node's type stripping, so it must stay erasable-syntax-only TypeScript.
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 27; // 27 × log2(62) ≈ 160.7 bits
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32, so any CRC32 fits
const TOKEN_PATTERN = /^st_(dev|live)_[0-9A-Za-z]{33}$/;

export type TokenEnv = 'dev' | 'live';
export const TOKEN_ENVS: readonly TokenEnv[] = ['dev', 'live'];

/** The CRC32 of `text` as 6 base62 characters, left-padded with `0`. */
export function checksumBase62(text: string): string {
  let value = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** `length` uniformly random base62 characters (rejection sampling, so no character is favoured). */
export function randomBase62(
  length: number,
  randomBytes: (size: number) => Buffer = nodeRandomBytes,
): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62]; // 248 = 4 × 62: bytes above it would bias the first characters
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new service token: `st_<env>_` + 27 random base62 characters + 6 characters of CRC32 over all before them. */
export function generateToken(env: TokenEnv, randomBytes?: (size: number) => Buffer): string {
  const head = `st_${env}_${randomBase62(RANDOM_LENGTH, randomBytes)}`;
  return head + checksumBase62(head);
}

/**
 * Whether `token` is well formed, carries `expectedPrefix` and its checksum matches. Cheap and free of any
 * secret, so it runs before any lookup: a mistyped or truncated token is refused without touching the key set.
 */
export function isWellFormedToken(token: string, expectedPrefix: string): boolean {
  if (!TOKEN_PATTERN.test(token) || !token.startsWith(expectedPrefix)) return false;
  const head = token.slice(0, -CHECKSUM_LENGTH);
  return checksumBase62(head) === token.slice(-CHECKSUM_LENGTH);
}
