import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/** One place where a secret (or one of its encodings) was found. */
export interface SecretFinding {
  secret: string;
  form: string;
  where: string;
  /** The text around the find, with the secret itself cut out. */
  context: string;
}

/**
 * The base64 text that `bytes` become wherever they sit inside a longer base64-encoded value: base64 encodes
 * three bytes at a time, so the encoding depends on the offset (0, 1 or 2) at which the bytes start. For each
 * offset, only the characters that the bytes alone decide are kept: `api:<key>` in a Basic header, or
 * `\0user\0password` in SMTP AUTH PLAIN, still contains one of these.
 */
export function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const firstBlock = Math.ceil(offset / 3);
    const lastBlock = Math.floor((offset + bytes.length) / 3);
    const core = encoded.slice(firstBlock * 4, lastBlock * 4);
    if (core.length >= 12) cores.push(core);
  }
  return cores;
}

/** The forms in which a secret could hide in text: as is, escaped, URL-encoded, base64 (any alignment), hex. */
export function secretForms(secret: string): { form: string; text: string }[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = [
    { form: 'raw', text: secret },
    { form: 'JSON-escaped', text: JSON.stringify(secret).slice(1, -1) },
    { form: 'JSON-escaped with \\/', text: JSON.stringify(secret).slice(1, -1).replace(/\//g, '\\/') },
    { form: 'URL-encoded', text: encodeURIComponent(secret) },
    { form: 'hex', text: bytes.toString('hex') },
    ...base64Cores(bytes).flatMap((core) => [
      { form: 'base64', text: core },
      { form: 'base64url', text: core.replace(/\+/g, '-').replace(/\//g, '_') },
    ]),
  ];
  const seen = new Set<string>();
  return forms.filter(({ text }) => !seen.has(text) && seen.add(text));
}

/** A token's SHA-256 as the service keeps it in memory (hex and base64): allowed there, looked for elsewhere. */
export function digestForms(token: string): { form: string; text: string }[] {
  const digest = createHash('sha256').update(token, 'utf8').digest();
  return [
    { form: 'sha256 hex', text: digest.toString('hex') },
    { form: 'sha256 base64', text: digest.toString('base64').replace(/=+$/, '') },
    { form: 'sha256 base64url', text: digest.toString('base64url') },
  ];
}

/**
 * Looks for named secrets, in every form of `secretForms`, in text from anywhere (log lines, HTTP responses,
 * Redis keys and values), and says where each was found.
 */
export class SecretScanner {
  private readonly needles: { secret: string; form: string; text: string }[] = [];

  /** `name` is what a finding reports (never the secret itself). */
  add(name: string, value: string, forms: (value: string) => { form: string; text: string }[] = secretForms) {
    for (const { form, text } of forms(value)) this.needles.push({ secret: name, form, text });
    return this;
  }

  /** How many secrets, and how many texts (their forms) in all, the scanner looks for. */
  get size(): number {
    return new Set(this.needles.map((n) => n.secret)).size;
  }

  get needleCount(): number {
    return this.needles.length;
  }

  scan(where: string, text: string): SecretFinding[] {
    const findings: SecretFinding[] = [];
    for (const needle of this.needles) {
      const at = text.indexOf(needle.text);
      if (at < 0) continue;
      const context =
        text.slice(Math.max(0, at - 80), at) +
        '«…»' +
        text.slice(at + needle.text.length, at + needle.text.length + 80);
      findings.push({ secret: needle.secret, form: needle.form, where, context });
    }
    return findings;
  }

  /** Each line of a process's output, as `<process> stdout line <n>`. */
  scanLines(where: string, lines: readonly string[]): SecretFinding[] {
    return lines.flatMap((line, index) => this.scan(`${where} line ${index + 1}`, line));
  }
}

/**
 * Every key in the Redis database, as `{ key, text }`: the key's name, then its whole value read by its type
 * (string, hash, list, set, sorted set with scores, stream with its fields), one text per key.
 */
export async function dumpRedis(redis: Redis): Promise<{ key: string; type: string; text: string }[]> {
  const dump: { key: string; type: string; text: string }[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      switch (type) {
        case 'string':
          value = await redis.get(key);
          break;
        case 'hash':
          value = await redis.hgetall(key);
          break;
        case 'list':
          value = await redis.lrange(key, 0, -1);
          break;
        case 'set':
          value = await redis.smembers(key);
          break;
        case 'zset':
          value = await redis.zrange(key, 0, -1, 'WITHSCORES');
          break;
        case 'stream':
          value = await redis.xrange(key, '-', '+');
          break;
        case 'none':
          continue; // expired or deleted since the SCAN
        default:
          throw new Error(`Redis key ${key} has a type the scanner cannot read: ${type}`);
      }
      dump.push({ key, type, text: typeof value === 'string' ? value : JSON.stringify(value) });
    }
  } while (cursor !== '0');
  return dump;
}
