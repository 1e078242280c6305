import type { Caller } from '../auth/caller';
import { ProblemError } from '../common/problem-error';
import type { EmailRecord } from './email-record';
import { listedService, visibleRecord } from './email-visibility';

const caller = (service: string, isAdmin = false): Caller => ({ service, isAdmin, scopes: new Set() });
const record = { id: 'e1', service: 'billing' } as EmailRecord;

const statusOf = (act: () => unknown): number => {
  try {
    act();
  } catch (error) {
    if (error instanceof ProblemError) return error.getStatus();
    throw error;
  }
  throw new Error('no problem was thrown');
};

describe('visibleRecord', () => {
  it("gives a service its own email, and an admin anyone's", () => {
    expect(visibleRecord(caller('billing'), 'e1', record)).toBe(record);
    expect(visibleRecord(caller('ops', true), 'e1', record)).toBe(record);
  });

  it("answers 404, not 403, for another service's email, as for one that does not exist", () => {
    expect(statusOf(() => visibleRecord(caller('sign-up'), 'e1', record))).toBe(404);
    expect(statusOf(() => visibleRecord(caller('billing'), 'e1', undefined))).toBe(404);
    expect(() => visibleRecord(caller('sign-up'), 'e1', record)).toThrow('Email e1 does not exist');
  });
});

describe('listedService', () => {
  it("lists the caller's own emails unless told otherwise", () => {
    expect(listedService(caller('billing'), undefined)).toBe('billing');
    expect(listedService(caller('billing'), 'billing')).toBe('billing');
  });

  it('lets an admin list another service, or every service with *', () => {
    expect(listedService(caller('ops', true), 'billing')).toBe('billing');
    expect(listedService(caller('ops', true), '*')).toBeUndefined();
  });

  it("refuses another service's emails, or all of them, to a caller without the admin scope", () => {
    expect(statusOf(() => listedService(caller('billing'), 'sign-up'))).toBe(403);
    expect(statusOf(() => listedService(caller('billing'), '*'))).toBe(403);
  });
});
