export const EMAIL_STATUSES = [
  'scheduled',
  'queued',
  'sending',
  'retrying',
  'sent',
  'delivered',
  'bounced',
  'complained',
  'suppressed',
  'dead',
  'cancelled',
] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/** Statuses from which a worker may (re)start delivery. `sending` is here: its worker died mid-send. */
export const CLAIMABLE_STATUSES: readonly EmailStatus[] = ['scheduled', 'queued', 'retrying', 'sending'];

/** Statuses in which an email still waits for a job to move it on. */
export const UNFINISHED_STATUSES: readonly EmailStatus[] = ['scheduled', 'queued', 'sending', 'retrying'];
/** Statuses of an email whose delivery began: with its attempts spent, it can only be dead. */
export const INTERRUPTED_STATUSES: readonly EmailStatus[] = ['sending', 'retrying'];
