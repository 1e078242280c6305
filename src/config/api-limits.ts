import { isIP } from 'node:net';
import { parseRate, type RateLimit } from '../delivery/rate-limit';
import type { AuthFailureLimit } from './app-config';

/** The words that switch a limit off: `unlimited` (also `off`, `none`). */
const NO_LIMIT = /^\s*(unlimited|off|none)\s*$/i;

export const API_RATE_LIMIT_HINT = 'must look like 50/s, 600/m or 5000/h, or be unlimited';

/**
 * An API call limit (`API_RATE_LIMIT`, `SERVICE_TOKEN_<NAME>_RATE_LIMIT`) in the providers' syntax: `N/s`,
 * `N/m` or `N/h`, a token bucket of N calls refilled continuously at N per unit (so N calls may come at once
 * after a quiet spell). `unlimited` for none; undefined for anything else.
 */
export function parseApiRateLimit(text: string): RateLimit | 'unlimited' | undefined {
  if (NO_LIMIT.test(text)) return 'unlimited';
  const rate = parseRate(text);
  if (!rate) return undefined;
  return {
    tokensPerMs: rate.count / rate.periodMs,
    burst: Math.max(1, Math.floor(rate.count)),
    text: rate.text,
  };
}

/**
 * `AUTH_FAILURE_LIMIT`: N failed authentications per second, minute or hour from one client address (N a
 * whole number), after which that address is refused until the window ends; `off` for none.
 */
export function parseAuthFailureLimit(text: string): AuthFailureLimit | 'off' | undefined {
  if (NO_LIMIT.test(text)) return 'off';
  const rate = parseRate(text);
  if (!rate || !Number.isInteger(rate.count)) return undefined;
  return { maxFailures: rate.count, windowMs: rate.periodMs, text: rate.text };
}

/** `SERVICE_TOKEN_<NAME>_DAILY_QUOTA`: a whole number of emails of at least 1; undefined for anything else. */
export function parseDailyQuota(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const quota = Number(text);
  return quota >= 1 && Number.isSafeInteger(quota) ? quota : undefined;
}

export const DAILY_BYTE_QUOTA_HINT = 'must be a whole number of bytes of at least 1, or unlimited';

/**
 * `DAILY_BYTE_QUOTA`, `SERVICE_TOKEN_<NAME>_DAILY_BYTE_QUOTA`: a whole number of bytes of at least 1, or
 * `unlimited`; undefined for anything else.
 */
export function parseDailyByteQuota(text: string): number | 'unlimited' | undefined {
  return NO_LIMIT.test(text) ? 'unlimited' : parseDailyQuota(text);
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address, an address/prefix (CIDR), or one of proxy-addr's range names. */
function isProxyAddress(text: string): boolean {
  if (PROXY_RANGE_NAMES.has(text)) return true;
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`, as fastify's `trustProxy` takes it: `false` (the client address is the socket's peer),
 * `true` (believe X-Forwarded-For whoever sends it: only when no client can reach the port but through the
 * proxy), or a comma list of the proxies' addresses, CIDRs or proxy-addr's names (`10.0.0.0/8,loopback`):
 * the client address is then the last one in X-Forwarded-For that is not a trusted proxy. (Fastify 5 no
 * longer honours a hop count, so none is offered.)
 */
export function parseTrustProxy(text: string): boolean | string | undefined {
  const value = text.trim().toLowerCase();
  if (value === 'false') return false;
  if (value === 'true') return true;
  const entries = value.split(',').map((entry) => entry.trim());
  return entries.length > 0 && entries.every(isProxyAddress) ? entries.join(',') : undefined;
}
