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

/**
 * Token bucket arithmetic, the same as the Lua script runs in Redis: the bucket refills continuously up to
 * `burst`; taking a token either succeeds now or says how long until one is there. Kept here, pure, so the
 * rule is tested without Redis.
 */
export function takeToken(
  bucket: { tokens: number; updatedAt: number },
  limit: Pick<RateLimit, 'tokensPerMs' | 'burst'>,
  now: number,
): { taken: boolean; waitMs: number; tokens: number } {
  const tokens = Math.min(
    limit.burst,
    bucket.tokens + Math.max(0, now - bucket.updatedAt) * limit.tokensPerMs,
  );
  if (tokens >= 1) return { taken: true, waitMs: 0, tokens: tokens - 1 };
  return { taken: false, waitMs: Math.ceil((1 - tokens) / limit.tokensPerMs), tokens };
}

/** The tokens in a bucket at `now`, refilled since it was last written (negative while reserved ahead). */
export function tokensAt(
  bucket: { tokens: number; updatedAt: number },
  limit: Pick<RateLimit, 'tokensPerMs' | 'burst'>,
  now: number,
): number {
  return Math.min(limit.burst, bucket.tokens + Math.max(0, now - bucket.updatedAt) * limit.tokensPerMs);
}
