import type { ValidationError } from 'class-validator';
import type { FieldError } from './problem-error';

/** Marks a recipient object that the caller wrote as a bare string, so its errors point at `to[0]`. */
export const WRITTEN_AS_STRING = Symbol('writtenAsString');

/** class-validator's built-in messages that read badly once the field is named separately. */
const READABLE_MESSAGES: Readonly<Record<string, string>> = {
  whitelistValidation: 'is not a known field',
  nestedValidation: 'must be an object',
};

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

function withoutProperty(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

/** Flattens class-validator's tree into `[{ field: 'to[0]', message }]`, in request order. */
export function flattenValidationErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  const flat: FieldError[] = [];
  for (const error of errors) {
    const path = joinPath(parent, error.property);
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      flat.push({
        field: path,
        message: READABLE_MESSAGES[constraint] ?? withoutProperty(message, error.property),
      });
    }
    const children = error.children ?? [];
    const writtenAsString =
      (error.value as Record<symbol, unknown> | undefined)?.[WRITTEN_AS_STRING] === true;
    for (const child of flattenValidationErrors(children, path)) {
      flat.push(writtenAsString ? { ...child, field: child.field.replace(/\.email$/, '') } : child);
    }
  }
  return flat;
}
