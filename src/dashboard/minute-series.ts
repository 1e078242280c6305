export const MINUTE_MS = 60_000;

/**
 * The per-minute buckets of the recorder (`minute = floor(epochMs / 60000)`), the `count` up to and including
 * the current one, oldest first.
 */
export function lastMinutes(nowMs: number, count: number): number[] {
  const current = Math.floor(nowMs / MINUTE_MS);
  return Array.from({ length: count }, (_, i) => current - count + 1 + i);
}

/** Emails sent and failed per minute, as the chart takes them: x in Unix seconds, one value per minute. */
export interface MinuteSeries {
  /** Start of each minute, Unix seconds, oldest first. */
  minutes: number[];
  sent: number[];
  failed: number[];
  totals: { sent: number; failed: number };
}

const count = (value: string | null | undefined): number => {
  const n = Number(value ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/**
 * The series from the minutes and, per minute, the `[sent, failed]` fields of its hash (null where a minute
 * had no event or its hash has expired).
 */
export function toMinuteSeries(
  minutes: readonly number[],
  values: readonly (readonly [string | null, string | null] | null | undefined)[],
): MinuteSeries {
  const sent = minutes.map((_, i) => count(values[i]?.[0]));
  const failed = minutes.map((_, i) => count(values[i]?.[1]));
  const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);
  return {
    minutes: minutes.map((minute) => (minute * MINUTE_MS) / 1000),
    sent,
    failed,
    totals: { sent: sum(sent), failed: sum(failed) },
  };
}
