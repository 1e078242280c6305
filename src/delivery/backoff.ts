/** Retries never wait longer than this, however many attempts are configured. */
export const RETRY_DELAY_CAP_MS = 15 * 60_000;

/**
 * Exponential backoff with "equal jitter": between half and all of `base × 2^(attempt-1)`, capped. Half is
 * kept so that a retry never fires at once after a failure; the random half spreads retries of emails that
 * failed together (a provider outage) instead of sending them back in one wave.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(exponential / 2 + random() * (exponential / 2));
}
