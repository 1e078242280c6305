import { BlockList, isIP } from 'node:net';
import { parseRate, type RateLimit } from '../common/rate';

/** `AUTH_FAILURE_LIMIT`: failed authentications from one client address per window before it is refused. */
export interface AuthFailureLimit {
  maxFailures: number;
  windowMs: number;
  /** As configured, for display: `10/m`. */
  text: string;
}

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

/**
 * What a value that trusts whole populations would let in: every client it names could write its own address
 * into X-Forwarded-For, run up another's failed authentications or rotate its own past the limit.
 */
const BROAD_TRUST: Readonly<Record<string, string>> = {
  true: 'every client',
  uniquelocal: 'every client in a private range (10/8, 172.16/12, 192.168/16, fc00::/7)',
  linklocal: 'every client on the local link (169.254/16, fe80::/10)',
};

/** proxy-addr's IPv6 form of an IPv4 address: a range of them at /96 or wider covers every IPv4 client. */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

export const TRUST_PROXY_HINT =
  "must be false or a comma list of the proxies' own addresses or CIDRs (e.g. 10.0.3.7,10.0.3.0/28,loopback)";

/** `TRUST_PROXY` as read: the hops whose X-Forwarded-For is believed (false: none), or why it is refused. */
export type TrustProxySetting = { hops: false | string } | { refused: string };

/** `loopback`, an address, or an address/prefix (CIDR); undefined if it is none of them. */
function proxyRange(text: string): { coversEveryAddress: boolean } | undefined {
  if (text === 'loopback') return { coversEveryAddress: false };
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return undefined;
  if (prefix === undefined) return { coversEveryAddress: false };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return undefined;
  const bits = Number(prefix);
  const isMapped = family === 6 && IPV4_MAPPED.check(address, 'ipv6');
  return { coversEveryAddress: bits === 0 || (isMapped && bits <= 96) };
}

const broadTrust = (entry: string, who: string): TrustProxySetting => ({
  refused:
    `${entry} would trust ${who}, so any of them could choose its address through X-Forwarded-For: ` +
    "name the proxies' own addresses or CIDRs instead (e.g. 10.0.3.7,10.0.3.0/28), or false",
});

/**
 * `TRUST_PROXY`: whose X-Forwarded-For names the client address (fastify's `trustProxy`, for the API and the
 * dashboard). `false`: nobody's, the client address is the TCP peer. Else a comma list of the proxies' own
 * addresses or CIDRs, or `loopback` (a sidecar in the same pod or host): the client address is then the
 * right-most one in X-Forwarded-For that is not a listed hop. Values that trust whole populations (`true`,
 * `uniquelocal`, `linklocal`, a range covering every address) are refused, since any client they name could
 * pick its own address. (Fastify 5 no longer honours a hop count, so none is offered.)
 */
export function parseTrustProxy(text: string): TrustProxySetting {
  const value = text.trim().toLowerCase();
  if (value === 'false') return { hops: false };
  const entries = value.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const who = BROAD_TRUST[entry];
    if (who) return broadTrust(entry, who);
    const range = proxyRange(entry);
    if (!range) return { refused: TRUST_PROXY_HINT };
    if (range.coversEveryAddress) return broadTrust('a range covering every address', 'every client');
  }
  return { hops: entries.join(',') };
}
