export interface RateLimit {
  /** Tokens added per millisecond. */
  tokensPerMs: number;
  /** The bucket's size: how many sends may go at once after a quiet spell. */
  burst: number;
  /** As configured, for display: `10/s`. */
  text: string;
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };

/** A rate as written: `count` per `periodMs`. */
export interface Rate {
  count: number;
  periodMs: number;
  /** As configured, for display: `10/s`. */
  text: string;
}

/** Parses `N/s`, `N/m` or `N/h` (N a positive number); undefined for anything else. */
export function parseRate(text: string): Rate | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([smh])\s*$/.exec(text);
  if (!match) return undefined;
  const count = Number(match[1]);
  if (!(count > 0)) return undefined;
  return { count, periodMs: UNIT_MS[match[2]!]!, text: `${match[1]}/${match[2]}` };
}

/**
 * Parses `N/s`, `N/m` or `N/h` (N a positive number). The default burst is the rate per second, or 1 when
 * that is below one. Returns undefined for anything else.
 */
export function parseRateLimit(text: string, burstText?: string): RateLimit | undefined {
  const rate = parseRate(text);
  if (!rate) return undefined;
  const tokensPerMs = rate.count / rate.periodMs;
  let burst = Math.max(1, Math.floor(tokensPerMs * 1000));
  if (burstText !== undefined) {
    if (!/^\s*\d+\s*$/.test(burstText) || Number(burstText) < 1) return undefined;
    burst = Number(burstText);
  }
  return { tokensPerMs, burst, text: rate.text };
}
