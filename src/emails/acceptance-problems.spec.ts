import { ProblemError } from '../common/problem-error';
import { prefixed, refusedWhole, validationProblem } from './acceptance-problems';

describe('validationProblem', () => {
  it('is a 400 naming the field, in the detail and in errors', () => {
    const problem = validationProblem('sendAt', 'must be at most 30 days ahead');
    expect(problem.getStatus()).toBe(400);
    expect(problem.problemType).toBe('validation-error');
    expect(problem.detail).toBe('sendAt must be at most 30 days ahead');
    expect(problem.errors).toEqual([{ field: 'sendAt', message: 'must be at most 30 days ahead' }]);
  });
});

describe('prefixed', () => {
  it("puts the item's path in front of each field", () => {
    const problem = new ProblemError(400, 'validation-error', 'bad', {
      errors: [
        { field: 'to[0]', message: 'must be an email address' },
        { field: 'subject', message: 'is required' },
      ],
    });
    expect(prefixed(problem, 'emails[3]')).toEqual([
      { field: 'emails[3].to[0]', message: 'must be an email address' },
      { field: 'emails[3].subject', message: 'is required' },
    ]);
  });

  it('names the item itself for a problem without a field, and keeps fields as they are without a prefix', () => {
    const problem = new ProblemError(400, 'validation-error', 'the whole email is wrong', {
      errors: [{ field: '', message: 'no recipient' }],
    });
    expect(prefixed(problem, 'emails[1]')).toEqual([{ field: 'emails[1]', message: 'no recipient' }]);
    expect(prefixed(validationProblem('provider', 'is unknown'), '')).toEqual([
      { field: 'provider', message: 'is unknown' },
    ]);
  });

  it('takes the detail as the message of a problem that lists no field errors', () => {
    const problem = new ProblemError(422, 'template-error', 'Template "x" does not exist');
    expect(prefixed(problem, 'emails[0]')).toEqual([
      { field: 'emails[0]', message: 'Template "x" does not exist' },
    ]);
  });

  it('throws again what is not a problem: a fault is not bad input', () => {
    const fault = new TypeError('undefined is not a function');
    expect(() => prefixed(fault, 'emails[0]')).toThrow(fault);
  });
});

describe('refusedWhole', () => {
  it('is a 400 when no template failed, counting the problems in the detail', () => {
    const problem = refusedWhole('batch', [{ field: 'emails[0].to[0]', message: 'bad' }], 1);
    expect(problem.getStatus()).toBe(400);
    expect(problem.problemType).toBe('validation-error');
    expect(problem.detail).toBe('Nothing was accepted: 1 problem in the batch; see errors.');
    expect(problem.errors).toEqual([{ field: 'emails[0].to[0]', message: 'bad' }]);
  });

  it.each([
    ['emails[2].data', 'a recipient whose data does not render'],
    ['recipients[4].data.name', 'a variable the template needs'],
    ['emails[0].template', 'an unknown template'],
  ])('is a 422 template-error when a field is %s (%s)', (field) => {
    const problem = refusedWhole(
      'group',
      [
        { field: 'emails[1].to[0]', message: 'bad' },
        { field, message: 'x' },
      ],
      2,
    );
    expect(problem.getStatus()).toBe(422);
    expect(problem.problemType).toBe('template-error');
  });

  it('does not take a field merely containing "data" or "template" for a template failure', () => {
    const problem = refusedWhole('batch', [{ field: 'emails[0].metadata', message: 'bad' }], 1);
    expect(problem.getStatus()).toBe(400);
  });

  it('counts every problem in the detail, even when it lists fewer', () => {
    const problem = refusedWhole('group', [{ field: 'recipients[0].data', message: 'x' }], 250);
    expect(problem.detail).toBe('Nothing was accepted: 250 problems in the group; see errors.');
    expect(problem.errors).toHaveLength(1);
  });
});
