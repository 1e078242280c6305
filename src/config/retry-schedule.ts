const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d{1,7})(ms|s|m|h|d)$/;

/** The longest single wait: a delivery older than a week is of no use to its receiver. */
const MAX_DELAY_MS = 7 * 86_400_000;
const MAX_RETRIES = 20;

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

/**
 * The waits before each retry of a webhook delivery, from a comma list of durations (`5s,5m,30m,2h`): one
 * retry per entry, so the default makes eight attempts over about 28 hours. Returns the reason instead when
 * the list is not one.
 */
export function parseRetrySchedule(text: string): number[] | string {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return 'must list at least one duration, such as 5s,5m,30m';
  if (entries.length > MAX_RETRIES) return `may list at most ${MAX_RETRIES} durations`;
  const delays: number[] = [];
  for (const entry of entries) {
    const match = DURATION.exec(entry);
    if (!match) return `"${entry}" is not a duration such as 500ms, 5s, 5m, 2h or 1d`;
    const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
    if (ms > MAX_DELAY_MS) return `"${entry}" is longer than 7 days`;
    delays.push(ms);
  }
  return delays;
}
