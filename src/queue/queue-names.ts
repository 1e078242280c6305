export const PRIORITIES = ['high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** One Bull queue per priority: adding stays O(1) whatever the depth (Bull's own `priority` option is O(n)). */
export const EMAIL_QUEUES: Readonly<Record<Priority, string>> = {
  high: 'emails-high',
  medium: 'emails-medium',
  low: 'emails-low',
};

/** Webhook deliveries wait in a queue of their own: a slow receiver never holds up email. */
export const WEBHOOK_QUEUE = 'webhook-deliveries';
