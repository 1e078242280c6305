import { assertDataWithin, sizedJson } from './data-limit';
import { ProblemError } from './problem-error';

const refusal = (max: number, fields: [string, unknown][]) => {
  try {
    assertDataWithin(max, fields);
  } catch (error) {
    return error as ProblemError;
  }
  return undefined;
};

describe('sizedJson', () => {
  it('counts the bytes of the JSON in UTF-8, not its characters', () => {
    expect(sizedJson({ a: 'x' })).toEqual({ json: '{"a":"x"}', bytes: 9 });
    // é is two bytes, € three, 🙂 four (two UTF-16 units).
    expect(sizedJson('é€🙂').bytes).toBe(2 + 2 + 3 + 4);
  });
});

describe('assertDataWithin', () => {
  it('accepts data of exactly the limit, and absent data', () => {
    const data = { notes: 'x'.repeat(100 - '{"notes":""}'.length) };
    expect(sizedJson(data).bytes).toBe(100);
    expect(
      refusal(100, [
        ['data', data],
        ['recipients[0].data', undefined],
      ]),
    ).toBeUndefined();
  });

  it('refuses data one byte over with 413, naming the field and both sizes', () => {
    const problem = refusal(100, [['data', { notes: 'x'.repeat(101 - '{"notes":""}'.length) }]]);
    expect(problem).toBeInstanceOf(ProblemError);
    expect(problem!.getStatus()).toBe(413);
    expect(problem!.problemType).toBe('payload-too-large');
    expect(problem!.detail).toBe(
      'Nothing was accepted: data is larger than MAX_DATA_BYTES (100 bytes of JSON); see errors.',
    );
    expect(problem!.errors).toEqual([
      { field: 'data', message: 'is 101 bytes of JSON; at most 100 are accepted' },
    ]);
  });

  it('names every field over the limit, in order, and counts those it does not list', () => {
    const big = { notes: 'x'.repeat(200) };
    const fields: [string, unknown][] = Array.from({ length: 150 }, (_, i) => [`recipients[${i}].data`, big]);
    fields.splice(1, 0, ['recipients[x].data', { small: true }]);
    const problem = refusal(100, fields)!;
    expect(problem.detail).toContain('150 data fields are larger than MAX_DATA_BYTES');
    expect(problem.errors).toHaveLength(100);
    expect(problem.errors!.slice(0, 2).map((e) => e.field)).toEqual([
      'recipients[0].data',
      'recipients[1].data',
    ]);
  });
});
