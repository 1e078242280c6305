import { DEFAULT_SCOPES, hasScope, isScope, type Scope } from './scopes';

const granted = (...scopes: Scope[]): ReadonlySet<Scope> => new Set(scopes);

describe('hasScope', () => {
  it('grants a scope that was given', () => {
    expect(hasScope(granted('send'), 'send')).toBe(true);
    expect(hasScope(granted('read'), 'read')).toBe(true);
  });

  it('refuses a scope that was not given', () => {
    expect(hasScope(granted('send'), 'read')).toBe(false);
    expect(hasScope(granted('read'), 'send')).toBe(false);
  });

  it('does not treat send or read as admin', () => {
    expect(hasScope(granted('send', 'read'), 'admin')).toBe(false);
  });

  it('lets admin cover read and send', () => {
    expect(hasScope(granted('admin'), 'read')).toBe(true);
    expect(hasScope(granted('admin'), 'send')).toBe(true);
    expect(hasScope(granted('admin'), 'admin')).toBe(true);
  });

  it('grants nothing to an empty set', () => {
    expect(hasScope(granted(), 'read')).toBe(false);
    expect(hasScope(granted(), 'send')).toBe(false);
    expect(hasScope(granted(), 'admin')).toBe(false);
  });
});

describe('isScope', () => {
  it('knows send, read and admin', () => {
    expect(['send', 'read', 'admin'].every(isScope)).toBe(true);
  });

  it('refuses other names, including other cases', () => {
    expect(isScope('write')).toBe(false);
    expect(isScope('Admin')).toBe(false);
    expect(isScope('')).toBe(false);
  });
});

describe('DEFAULT_SCOPES', () => {
  it('is send and read, without admin', () => {
    expect([...DEFAULT_SCOPES]).toEqual(['send', 'read']);
  });
});
