import { ValidationError } from 'class-validator';
import { flattenValidationErrors, WRITTEN_AS_STRING } from './validation-errors';

function error(
  property: string,
  constraints?: Record<string, string>,
  children: ValidationError[] = [],
  value?: unknown,
): ValidationError {
  return Object.assign(new ValidationError(), { property, constraints, children, value });
}

const writtenAsString = (email: string) => {
  const recipient = { email };
  Object.defineProperty(recipient, WRITTEN_AS_STRING, { value: true, enumerable: false });
  return recipient;
};

describe('flattenValidationErrors', () => {
  it('returns nothing for no errors', () => {
    expect(flattenValidationErrors([])).toEqual([]);
  });

  it('drops the property name that class-validator puts at the start of its messages', () => {
    expect(flattenValidationErrors([error('subject', { isString: 'subject must be a string' })])).toEqual([
      { field: 'subject', message: 'must be a string' },
    ]);
  });

  it('keeps a message that does not start with the property name', () => {
    expect(
      flattenValidationErrors([
        error('tags', { matches: 'each tag must be short' }),
        error('to', { x: 'tosomething else' }),
      ]),
    ).toEqual([
      { field: 'tags', message: 'each tag must be short' },
      { field: 'to', message: 'tosomething else' },
    ]);
  });

  it('rewrites the unknown-field and nested-object messages so they read well after the field', () => {
    expect(
      flattenValidationErrors([
        error('extra', { whitelistValidation: 'property extra should not exist' }),
        error('from', { nestedValidation: 'nested property from must be either object or array' }),
      ]),
    ).toEqual([
      { field: 'extra', message: 'is not a known field' },
      { field: 'from', message: 'must be an object' },
    ]);
  });

  it('lists one entry per constraint of a field', () => {
    expect(
      flattenValidationErrors([error('to', { arrayMinSize: 'to is empty', isArray: 'to must be an array' })]),
    ).toEqual([
      { field: 'to', message: 'is empty' },
      { field: 'to', message: 'must be an array' },
    ]);
  });

  it('writes list positions in brackets and object fields with dots', () => {
    const tree = error('attachments', undefined, [
      error('1', undefined, [error('filename', { matches: 'filename must be a file name' })]),
    ]);
    const reply = error('replyTo', undefined, [
      error('email', { isMailAddress: 'must be an email address' }),
    ]);
    expect(flattenValidationErrors([tree, reply])).toEqual([
      { field: 'attachments[1].filename', message: 'must be a file name' },
      { field: 'replyTo.email', message: 'must be an email address' },
    ]);
  });

  it('points the error of a recipient written as a string at the recipient itself', () => {
    const tree = error('to', undefined, [
      error(
        '0',
        undefined,
        [error('email', { isMailAddress: 'must be an email address' })],
        writtenAsString('x'),
      ),
    ]);
    expect(flattenValidationErrors([tree])).toEqual([
      { field: 'to[0]', message: 'must be an email address' },
    ]);
  });

  it('keeps .email for a recipient written as an object', () => {
    const tree = error('to', undefined, [
      error('0', undefined, [error('email', { isMailAddress: 'must be an email address' })], { email: 'x' }),
    ]);
    expect(flattenValidationErrors([tree])).toEqual([
      { field: 'to[0].email', message: 'must be an email address' },
    ]);
  });

  it('lists the parent constraints before those of its children, in order', () => {
    const tree = error('to', { recipientCount: 'at most 50' }, [
      error('0', undefined, [error('email', { a: 'first' })], writtenAsString('x')),
      error('2', undefined, [error('name', { b: 'second' })]),
    ]);
    expect(flattenValidationErrors([tree, error('subject', { c: 'third' })])).toEqual([
      { field: 'to', message: 'at most 50' },
      { field: 'to[0]', message: 'first' },
      { field: 'to[2].name', message: 'second' },
      { field: 'subject', message: 'third' },
    ]);
  });

  it('prefixes every field with the given parent', () => {
    expect(flattenValidationErrors([error('subject', { a: 'bad' })], 'emails[3]')).toEqual([
      { field: 'emails[3].subject', message: 'bad' },
    ]);
  });
});
