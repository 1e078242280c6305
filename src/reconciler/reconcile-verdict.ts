import { INTERRUPTED_STATUSES, UNFINISHED_STATUSES, type EmailStatus } from '../common/email-status';
import type { EmailJobState } from '../queue/email-queue';
import type { Priority } from '../queue/queue-names';

/** What a repair did, as the audit trail (`reconciled`) and the metrics name it. */
export type ReconcilerAction = 'requeued' | 'dead_lettered';

/** What the reconciler reads of an unfinished email's record. */
export interface UnfinishedEmail {
  id: string;
  status: EmailStatus;
  priority: Priority;
  service: string;
  requestId?: string;
  provider?: string;
  attempts: number;
  maxAttempts: number;
  sendAt?: number;
}

/** What the reconciler does with one email it found overdue. */
export type Verdict =
  /** Gone, or finished: it leaves the unfinished emails. */
  | { kind: 'forget' }
  /** A job carries it (or its time has not come): look again one bound after `seenAt`. */
  | { kind: 'healthy'; seenAt: number }
  /** No job will move it on: queue one. */
  | { kind: 'requeue' }
  /** No job, and its attempts are spent: it is dead, for this reason. */
  | { kind: 'dead_letter'; reason: string };

/**
 * The reconciler's judgement of an email that has made no progress for a while, from its record (undefined:
 * expired or removed) and where its job stands. Only a job that is missing or finished strands an email: a
 * waiting, delayed or stalled job runs in the end, and a locked one is in a worker's hands.
 */
export function verdictOn(email: UnfinishedEmail | undefined, job: EmailJobState, now: number): Verdict {
  if (!email || !UNFINISHED_STATUSES.includes(email.status)) return { kind: 'forget' };
  const dueAt = email.status === 'scheduled' ? (email.sendAt ?? 0) : 0;
  if (job === 'pending' || job === 'locked' || dueAt > now)
    return { kind: 'healthy', seenAt: Math.max(now, dueAt) };
  if (INTERRUPTED_STATUSES.includes(email.status) && email.attempts >= email.maxAttempts)
    return {
      kind: 'dead_letter',
      reason:
        `delivery stopped after its last attempt (${email.attempts} of ${email.maxAttempts}) ` +
        'with no job left to finish it',
    };
  return { kind: 'requeue' };
}
