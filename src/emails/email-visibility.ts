import type { Caller } from '../auth/caller';
import { notFound, ProblemError } from '../common/problem-error';
import type { EmailRecord } from './email-record';

/**
 * The record, if the caller may see it: its own, or any for an admin. Another service's email is a 404, not
 * a 403, so that its id is not confirmed.
 */
export function visibleRecord(caller: Caller, id: string, record: EmailRecord | undefined): EmailRecord {
  if (!record || (record.service !== caller.service && !caller.isAdmin)) throw notFound(`Email ${id}`);
  return record;
}

/**
 * The service whose emails a listing shows (undefined: every service): the caller's own, unless it names
 * another or `*`, which needs the admin scope.
 */
export function listedService(caller: Caller, requested: string | undefined): string | undefined {
  if (requested && requested !== caller.service && !caller.isAdmin) {
    throw new ProblemError(403, 'forbidden', "Listing another service's emails needs the admin scope.");
  }
  return requested === '*' ? undefined : (requested ?? caller.service);
}
