import { UUID_PATTERN, uuidv7 } from './ids';

const fill = (byte: number) => (size: number) => Buffer.alloc(size, byte);

describe('uuidv7', () => {
  it('puts the milliseconds in the first 48 bits, then version 7 and the RFC 9562 variant', () => {
    expect(uuidv7(0x0123456789ab, fill(0xff))).toBe('01234567-89ab-7fff-bfff-ffffffffffff');
    expect(uuidv7(0x0123456789ab, fill(0x00))).toBe('01234567-89ab-7000-8000-000000000000');
  });

  it('reads the time back from the first 12 hex digits', () => {
    const now = Date.parse('2026-06-01T12:34:56.789Z');
    const id = uuidv7(now, fill(0x5a));
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('sets the version nibble to 7 and the variant bits to 10 whatever the random bytes', () => {
    for (const byte of [0x00, 0x0f, 0x3c, 0x80, 0xc3, 0xff]) {
      const hex = uuidv7(1_700_000_000_000, fill(byte)).replace(/-/g, '');
      expect(hex[12]).toBe('7');
      expect(parseInt(hex[16]!, 16) >> 2).toBe(0b10);
    }
  });

  it('keeps the other 74 bits from the random source', () => {
    const id = uuidv7(0, () => Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
    expect(id).toBe('00000000-0000-7677-8899-aabbccddeeff');
  });

  it('asks the random source for 16 bytes', () => {
    const sizes: number[] = [];
    uuidv7(0, (size) => {
      sizes.push(size);
      return Buffer.alloc(size);
    });
    expect(sizes).toEqual([16]);
  });

  it('sorts by creation time, whatever the random part', () => {
    const earlier = uuidv7(1_700_000_000_000, fill(0xff));
    const later = uuidv7(1_700_000_000_001, fill(0x00));
    expect(earlier < later).toBe(true);

    const times = [5, 1_000, 999_999, 1_700_000_000_000, 1_700_000_000_123, 2 ** 47];
    const inTimeOrder = times.map((t, i) => uuidv7(t, fill(i % 2 === 0 ? 0xff : 0x00)));
    expect([...inTimeOrder].reverse().sort()).toEqual(inTimeOrder);
  });

  it('makes a well-formed lower-case UUID from the real clock and random source', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(UUID_PATTERN);
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('makes different ids within one millisecond', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => uuidv7(1_700_000_000_000)));
    expect(ids.size).toBe(1000);
  });
});

describe('UUID_PATTERN', () => {
  it('matches the 8-4-4-4-12 lower-case hex layout only', () => {
    expect(UUID_PATTERN.test('01234567-89ab-7fff-bfff-ffffffffffff')).toBe(true);
    expect(UUID_PATTERN.test('01234567-89AB-7FFF-BFFF-FFFFFFFFFFFF')).toBe(false);
    expect(UUID_PATTERN.test('0123456789ab7fffbfffffffffffffff')).toBe(false);
    expect(UUID_PATTERN.test('01234567-89ab-7fff-bfff-ffffffffffff ')).toBe(false);
  });
});

describe('uuidv7 with the default random source', () => {
  it('gives distinct, time-ordered ids across pool refills', () => {
    const ids = Array.from({ length: 1000 }, (_, n) => uuidv7(1_700_000_000_000 + n));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => UUID_PATTERN.test(id))).toBe(true);
  });
});
