import fc from 'fast-check';
import { UUID_PATTERN, uuidv7 } from './ids';

/** The milliseconds in an id's first 48 bits. */
const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

/**
 * The generator is one per process and remembers the last id: each test starts an hour after the one before, so
 * that no test's times fall within the ten seconds of rollback that carry a previous test's time over.
 */
let hour = 0;
const freshTime = () => Date.parse('2025-01-01T00:00:00Z') + ++hour * 3_600_000;

describe('uuidv7', () => {
  it('makes a lower-case UUID of version 7 and the RFC 9562 variant', () => {
    const base = freshTime();
    for (let i = 0; i < 1000; i++) {
      const id = uuidv7(base + i);
      expect(id).toMatch(UUID_PATTERN);
      const hex = id.replace(/-/g, '');
      expect(hex[12]).toBe('7');
      expect(parseInt(hex[16]!, 16) >> 2).toBe(0b10);
    }
  });

  it('puts the milliseconds it is given in the first 48 bits', () => {
    const now = freshTime() + 789;
    expect(timeOf(uuidv7(now))).toBe(now);
    expect(uuidv7(now).slice(0, 13)).toBe(
      `${now.toString(16).padStart(12, '0').slice(0, 8)}-${now.toString(16).padStart(12, '0').slice(8)}`,
    );
  });

  it('makes distinct ids that sort in the order they were made within one millisecond', () => {
    const now = freshTime();
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every((id) => timeOf(id) === now)).toBe(true);
  });

  it('sorts by creation time, each id carrying the time it was given, when time goes forward', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 300 }), (steps) => {
        let now = freshTime();
        const made = steps.map((step) => {
          now += step;
          return { now, id: uuidv7(now) };
        });
        const ids = made.map((m) => m.id);
        expect([...ids].sort()).toEqual(ids);
        expect(new Set(ids).size).toBe(ids.length);
        expect(made.every((m) => timeOf(m.id) === m.now)).toBe(true);
      }),
    );
  });

  it('keeps the order when given a time a little earlier than the last id, carrying the later time', () => {
    const now = freshTime();
    const later = uuidv7(now);
    // A request that read the clock 5 ms before the one that made the last id.
    const earlier = uuidv7(now - 5);
    expect(earlier > later).toBe(true);
    expect(timeOf(earlier)).toBe(now);
  });

  it('takes the time it is given once the clock went back more than ten seconds', () => {
    const now = freshTime();
    uuidv7(now);
    const reset = uuidv7(now - 60_000);
    expect(timeOf(reset)).toBe(now - 60_000);
    expect(timeOf(uuidv7(now - 60_000))).toBe(now - 60_000);
  });

  it('reads the clock when given no time', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(UUID_PATTERN);
    expect(timeOf(id)).toBeGreaterThanOrEqual(before);
    expect(timeOf(id)).toBeLessThanOrEqual(after);
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
