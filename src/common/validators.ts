import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { isMailAddress } from './mail-address';

type Check = (value: unknown, args: ValidationArguments) => string | undefined;

/** Registers a property rule whose check returns the problem (a message) or undefined when the value is fine. */
function rule(name: string, check: Check, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) => {
    let lastProblem = '';
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options: { ...options, message: () => lastProblem },
      validator: {
        validate(value: unknown, args: ValidationArguments) {
          const problem = check(value, args);
          lastProblem = problem ?? '';
          return problem === undefined;
        },
      },
    });
  };
}

const LINE_BREAK = /[\r\n]/;

export const hasLineBreak = (value: string) => LINE_BREAK.test(value);

/** A single email address with no CR/LF (header injection). */
export const IsMailAddress = () =>
  rule('isMailAddress', (value) => (isMailAddress(value) ? undefined : 'must be an email address'));

/** A string without CR or LF: it ends up in a mail header. */
export const IsHeaderSafeString = (maxLength: number) =>
  rule('isHeaderSafeString', (value) => {
    if (typeof value !== 'string') return 'must be a string';
    if (value.length > maxLength) return `must be at most ${maxLength} characters`;
    if (hasLineBreak(value)) return 'must not contain line breaks';
    return undefined;
  });

export interface StringMapRules {
  maxEntries: number;
  keyPattern: RegExp;
  keyDescription: string;
  maxValueLength: number;
  /** Returns a message when a key may not be used. */
  forbiddenKey?: (key: string) => string | undefined;
}

/** A flat object of string keys to string values (custom headers, metadata). */
export const IsStringMap = (rules: StringMapRules) =>
  rule('isStringMap', (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return 'must be an object of strings';
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > rules.maxEntries) return `must have at most ${rules.maxEntries} entries`;
    for (const [key, entry] of entries) {
      if (!rules.keyPattern.test(key)) return `key "${key.slice(0, 64)}" must be ${rules.keyDescription}`;
      const forbidden = rules.forbiddenKey?.(key);
      if (forbidden) return forbidden;
      if (typeof entry !== 'string') return `value of "${key}" must be a string`;
      if (entry.length > rules.maxValueLength)
        return `value of "${key}" must be at most ${rules.maxValueLength} characters`;
      if (hasLineBreak(entry)) return `value of "${key}" must not contain line breaks`;
    }
    return undefined;
  });

/** A property whose presence depends on others; `check` sees the whole object. */
export const SatisfiesRule = (
  name: string,
  check: (value: unknown, object: Record<string, unknown>) => string | undefined,
) => rule(name, (value, args) => check(value, args.object as Record<string, unknown>));

const RFC3339_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

/** An RFC 3339 date-time with its time zone (`sendAt`, the audit trail's `from` and `to`). */
export const IsDateTime = () =>
  rule('dateTime', (value) =>
    typeof value === 'string' && RFC3339_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))
      ? undefined
      : 'must be a date-time with a time zone, such as 2026-12-01T09:00:00Z',
  );
