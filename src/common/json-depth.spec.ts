import { nestsDeeperThan } from './json-depth';

const nestedArrays = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
const nestedObjects = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

describe('nestsDeeperThan', () => {
  it('counts the levels of objects and arrays, not of scalars', () => {
    expect(nestsDeeperThan('text', 0)).toBe(false);
    expect(nestsDeeperThan({ a: 1 }, 1)).toBe(false);
    expect(nestsDeeperThan({ a: 1 }, 0)).toBe(true);
    expect(nestsDeeperThan({ to: ['ana@example.com'], data: { order: { items: [{ n: 1 }] } } }, 5)).toBe(
      false,
    );
    expect(nestsDeeperThan({ to: ['ana@example.com'], data: { order: { items: [{ n: 1 }] } } }, 4)).toBe(
      true,
    );
  });

  it('finds the deepest branch among shallow ones', () => {
    expect(nestsDeeperThan({ a: 1, b: [1, 2], c: nestedObjects(40) }, 32)).toBe(true);
    expect(nestsDeeperThan([nestedArrays(31)], 32)).toBe(false);
  });

  it('measures hostile depths without overflowing the stack', () => {
    expect(nestsDeeperThan(nestedArrays(100_000), 32)).toBe(true);
    expect(nestsDeeperThan(nestedObjects(100_000), 32)).toBe(true);
  });
});
