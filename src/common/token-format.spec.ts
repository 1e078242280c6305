import { checksumBase62, generateToken, isWellFormedToken, randomBase62 } from './token-format';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A randomBytes stand-in that hands out the given buffers in turn and records the sizes asked for. */
function scriptedBytes(...buffers: number[][]) {
  const sizes: number[] = [];
  const next = (size: number) => {
    sizes.push(size);
    const bytes = buffers.shift();
    if (!bytes) throw new Error('randomBytes called more often than scripted');
    return Buffer.from(bytes);
  };
  return { next, sizes };
}

describe('checksumBase62', () => {
  it('encodes the CRC32 of the standard check string as 6 base62 characters', () => {
    // CRC32("123456789") = 0xCBF43926 = 3421780262, the standard check value.
    expect(checksumBase62('123456789')).toBe('3jZRME');
  });

  it('left-pads a small CRC with zeros to 6 characters', () => {
    expect(checksumBase62('')).toBe('000000');
  });
});

describe('randomBase62', () => {
  it('maps each byte below 248 to BASE62[byte % 62]', () => {
    const { next } = scriptedBytes([0, 61, 62, 123, 124, 247, 0, 0]);
    expect(randomBase62(6, next)).toBe('0z0z0z');
  });

  it('skips bytes of 248 and above so that no character is favoured', () => {
    const { next } = scriptedBytes([248, 255, 1, 250, 2, 3, 0, 0]);
    expect(randomBase62(3, next)).toBe('123');
  });

  it('asks for more bytes until it has enough accepted ones', () => {
    const { next, sizes } = scriptedBytes([255, 255, 255, 5], [249, 7, 9, 9]);
    expect(randomBase62(2, next)).toBe('57');
    expect(sizes).toEqual([4, 4]);
  });

  it('stops at exactly the requested length even when the buffer has more bytes', () => {
    const { next } = scriptedBytes([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(randomBase62(5, next)).toBe('12345');
  });

  it('uses only base62 characters with the real random source', () => {
    expect(randomBase62(200)).toMatch(/^[0-9A-Za-z]{200}$/);
  });
});

describe('generateToken', () => {
  it('makes a dev token of st_dev_, 27 random characters and 6 checksum characters (40 in all)', () => {
    const token = generateToken('dev');
    expect(token).toMatch(/^st_dev_[0-9A-Za-z]{33}$/);
    expect(token).toHaveLength(40);
  });

  it('makes a live token with the st_live_ prefix (41 characters)', () => {
    const token = generateToken('live');
    expect(token).toMatch(/^st_live_[0-9A-Za-z]{33}$/);
    expect(token).toHaveLength(41);
  });

  it('ends with the CRC32 checksum of everything before it', () => {
    const token = generateToken('dev');
    expect(token.slice(-6)).toBe(checksumBase62(token.slice(0, -6)));
  });

  it('builds the token from the injected random bytes', () => {
    const { next, sizes } = scriptedBytes(Array.from({ length: 54 }, (_, i) => i % 62));
    // Checksum computed independently: CRC32("st_dev_0123456789ABCDEFGHIJKLMNOPQ") = 4074524056.
    expect(generateToken('dev', next)).toBe('st_dev_0123456789ABCDEFGHIJKLMNOPQ4RkHpw');
    expect(sizes).toEqual([54]);
  });

  it('makes a different token on every call', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => generateToken('dev')));
    expect(tokens.size).toBe(100);
  });
});

describe('isWellFormedToken', () => {
  const dev = generateToken('dev');
  const live = generateToken('live');

  it('accepts a freshly generated token with its own prefix', () => {
    expect(isWellFormedToken(dev, 'st_dev_')).toBe(true);
    expect(isWellFormedToken(live, 'st_live_')).toBe(true);
  });

  it('accepts a token whose checksum was computed independently', () => {
    expect(isWellFormedToken('st_dev_' + '0'.repeat(27) + '0A9u3m', 'st_dev_')).toBe(true);
    expect(isWellFormedToken('st_live_' + 'z'.repeat(27) + '1gbs5H', 'st_live_')).toBe(true);
  });

  it('refuses a live token where dev tokens are expected, and the other way round', () => {
    expect(isWellFormedToken(live, 'st_dev_')).toBe(false);
    expect(isWellFormedToken(dev, 'st_live_')).toBe(false);
  });

  it('refuses an environment other than dev or live even with a valid checksum', () => {
    const head = 'st_test_' + 'a'.repeat(27);
    expect(isWellFormedToken(head + checksumBase62(head), 'st_test_')).toBe(false);
  });

  it('refuses a token with an upper-case prefix', () => {
    const head = 'ST_dev_' + 'a'.repeat(27);
    expect(isWellFormedToken(head + checksumBase62(head), 'ST_dev_')).toBe(false);
  });

  it('refuses a token with any one character changed', () => {
    const prefixLength = 'st_dev_'.length;
    for (let i = prefixLength; i < dev.length; i++) {
      const original = dev[i]!;
      const replacement = BASE62[(BASE62.indexOf(original) + 1) % 62]!;
      const changed = dev.slice(0, i) + replacement + dev.slice(i + 1);
      expect({ position: i, valid: isWellFormedToken(changed, 'st_dev_') }).toEqual({
        position: i,
        valid: false,
      });
    }
  });

  it('refuses a truncated token', () => {
    expect(isWellFormedToken(dev.slice(0, -1), 'st_dev_')).toBe(false);
    expect(isWellFormedToken(dev.slice(0, 20), 'st_dev_')).toBe(false);
    expect(isWellFormedToken('st_dev_', 'st_dev_')).toBe(false);
  });

  it('refuses a token with an extra character', () => {
    expect(isWellFormedToken(dev + 'a', 'st_dev_')).toBe(false);
  });

  it('refuses a well-shaped token whose checksum does not match', () => {
    const head = dev.slice(0, -6);
    const wrong = checksumBase62(head) === '000000' ? '000001' : '000000';
    expect(isWellFormedToken(head + wrong, 'st_dev_')).toBe(false);
  });

  it('refuses a token with a character outside base62', () => {
    const head = 'st_dev_' + 'a'.repeat(26) + '-';
    expect(isWellFormedToken(head + checksumBase62(head), 'st_dev_')).toBe(false);
  });

  it('refuses a token with surrounding whitespace', () => {
    expect(isWellFormedToken(` ${dev}`, 'st_dev_')).toBe(false);
    expect(isWellFormedToken(`${dev}\n`, 'st_dev_')).toBe(false);
  });

  it('refuses the empty string', () => {
    expect(isWellFormedToken('', 'st_dev_')).toBe(false);
  });
});
