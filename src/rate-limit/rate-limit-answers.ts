import { ProblemError } from '../common/problem-error';
import type { RateLimit } from '../common/rate';

const DAY_MS = 86_400_000;

/** Milliseconds as the whole seconds of `Retry-After` and `RateLimit-Reset`: rounded up, at least 1. */
export const wholeSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/**
 * The IETF draft's `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the bucket
 * is full again) for a service with an API limit.
 */
export function rateLimitHeaders(
  limit: Pick<RateLimit, 'burst'>,
  remaining: number,
  resetMs: number,
): Record<string, string> {
  return {
    'ratelimit-limit': String(limit.burst),
    'ratelimit-remaining': String(Math.max(0, Math.floor(remaining))),
    'ratelimit-reset': String(wholeSeconds(resetMs)),
  };
}

/** 429 for a service over its API limit, with the seconds until its next call is let through. */
export function apiRateLimited(limit: RateLimit, retryAfterMs: number): ProblemError {
  const seconds = wholeSeconds(retryAfterMs);
  return new ProblemError(
    429,
    'rate-limited',
    `This service's API rate limit (${limit.text}) is reached; retry after ${seconds} s.`,
    { headers: { 'retry-after': String(seconds), ...rateLimitHeaders(limit, 0, retryAfterMs) } },
  );
}

/** 429 for a client address refused after too many failed authentications, until its window ends. */
export function addressRefused(retryAfterMs: number): ProblemError {
  const seconds = wholeSeconds(retryAfterMs);
  return new ProblemError(
    429,
    'rate-limited',
    `Too many failed authentications from this address; retry after ${seconds} s.`,
    { headers: { 'retry-after': String(seconds) } },
  );
}

/** 429 for a send that would take a service over its daily quota; it may send again at 00:00 UTC. */
export function dailyQuotaReached(quota: number, used: number, count: number, now: number): ProblemError {
  const state =
    used >= quota
      ? `The daily quota of ${quota} emails is reached`
      : `These ${count} emails would exceed the daily quota of ${quota} emails`;
  return new ProblemError(
    429,
    'rate-limited',
    `${state} (${used} accepted today, UTC); nothing was accepted. The quota resets at 00:00 UTC.`,
    { headers: { 'retry-after': String(wholeSeconds(msUntilNextUtcDay(now))) } },
  );
}

/** 429 for a send that would take a service over its daily byte quota; it may send again at 00:00 UTC. */
export function dailyByteQuotaReached(
  quota: number,
  used: number,
  count: number,
  bytes: number,
  now: number,
): ProblemError {
  const emails = `${count} email${count === 1 ? '' : 's'}`;
  const state =
    used >= quota
      ? `The daily quota of ${quota} bytes stored is reached`
      : `These ${emails} (${bytes} bytes to store) would exceed the daily quota of ${quota} bytes`;
  return new ProblemError(
    429,
    'rate-limited',
    `${state} (${used} bytes accepted today, UTC); nothing was accepted. The quota resets at 00:00 UTC.`,
    { headers: { 'retry-after': String(wholeSeconds(msUntilNextUtcDay(now))) } },
  );
}

/** The UTC day of `now` as `2026-05-01`: the quota counter's name. */
export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10);

/** Milliseconds from `now` to the next 00:00 UTC. */
export const msUntilNextUtcDay = (now: number): number => DAY_MS - (((now % DAY_MS) + DAY_MS) % DAY_MS);
