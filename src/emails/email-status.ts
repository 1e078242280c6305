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
