import { ProblemError, type FieldError } from '../common/problem-error';

/** A 400 naming one field of the request. */
export function validationProblem(field: string, message: string): ProblemError {
  return new ProblemError(400, 'validation-error', `${field} ${message}`, { errors: [{ field, message }] });
}

/**
 * The field errors of a problem thrown for one item, with the item's path in front (`emails[3].to[0]`).
 * Anything but a ProblemError is a fault, not bad input: it is thrown again.
 */
export function prefixed(error: unknown, prefix: string): FieldError[] {
  if (!(error instanceof ProblemError)) throw error;
  const errors = error.errors ?? [{ field: '', message: error.detail }];
  return errors.map(({ field, message }) => ({
    field: prefix && field ? `${prefix}.${field}` : prefix || field,
    message,
  }));
}

/**
 * One problem for a refused batch or group, listing `problems` of `total` in all: 422 when a template failed
 * (a `.data` or `.template` field), else 400.
 */
export function refusedWhole(what: 'batch' | 'group', problems: FieldError[], total: number): ProblemError {
  const templateFailed = problems.some((p) => /\.data(\.|$)|\.template$/.test(p.field));
  const status = templateFailed ? 422 : 400;
  return new ProblemError(
    status,
    status === 422 ? 'template-error' : 'validation-error',
    `Nothing was accepted: ${total} problem${total === 1 ? '' : 's'} in the ${what}; see errors.`,
    { errors: problems },
  );
}
