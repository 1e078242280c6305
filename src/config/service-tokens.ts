import { createHash } from 'node:crypto';
import { DEFAULT_SCOPES, isScope, type Scope } from '../common/scopes';
import { isWellFormedToken } from '../common/token-format';
import type { RateLimit } from '../common/rate';
import {
  API_RATE_LIMIT_HINT,
  DAILY_BYTE_QUOTA_HINT,
  parseApiRateLimit,
  parseDailyByteQuota,
  parseDailyQuota,
} from './api-limits';
import type { ServiceCredentials } from './app-config';

/** The settings of one calling service, `SERVICE_TOKEN_<NAME>_<PART>`, and the field each is read into. */
const PARTS = {
  PRIMARY: 'primary',
  SECONDARY: 'secondary',
  SCOPES: 'scopes',
  RATE_LIMIT: 'rateLimit',
  DAILY_QUOTA: 'dailyQuota',
  DAILY_BYTE_QUOTA: 'dailyByteQuota',
} as const;
type Part = keyof typeof PARTS;

// No part is a suffix of another, so the greedy NAME still splits `SERVICE_TOKEN_A_RATE_LIMIT` as A + RATE_LIMIT.
const TOKEN_VARIABLE = new RegExp(`^SERVICE_TOKEN_([A-Z0-9][A-Z0-9_]*)_(${Object.keys(PARTS).join('|')})$`);

/** Whether a variable is one of the `SERVICE_TOKEN_<NAME>_*` settings (each may also come from `<name>_FILE`). */
export const isServiceTokenVariable = (name: string): boolean => TOKEN_VARIABLE.test(name);

/** SHA-256 of a token: the only form in which a token is kept after start. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `BILLING_API` → `billing-api`: the name used in audit, metrics and logs. */
export function serviceNameOf(variableName: string): string {
  return variableName.toLowerCase().replace(/_/g, '-');
}

type RawService = Partial<Record<(typeof PARTS)[Part], string>>;

/**
 * Reads every `SERVICE_TOKEN_<NAME>_{PRIMARY,SECONDARY,SCOPES,RATE_LIMIT,DAILY_QUOTA,DAILY_BYTE_QUOTA}`
 * variable; a service without its own RATE_LIMIT gets `defaultRateLimit` (API_RATE_LIMIT), one without its own
 * DAILY_BYTE_QUOTA `defaultByteQuota` (DAILY_BYTE_QUOTA). Problems are appended to `errors` by variable name,
 * never with the value.
 */
export function readServiceCredentials(
  env: Readonly<Record<string, string | undefined>>,
  tokenPrefix: string,
  errors: string[],
  defaultRateLimit?: RateLimit,
  defaultByteQuota?: number,
): ServiceCredentials[] {
  const byName = new Map<string, RawService>();
  for (const [key, value] of Object.entries(env)) {
    const match = TOKEN_VARIABLE.exec(key);
    if (!match || value === undefined) continue;
    const [, name, part] = match as unknown as [string, string, Part];
    const entry = byName.get(name) ?? {};
    entry[PARTS[part]] = value.trim();
    byName.set(name, entry);
  }

  const seenDigests = new Map<string, string>();
  const services: ServiceCredentials[] = [];
  for (const [name, raw] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    const variable = (part: string) => `SERVICE_TOKEN_${name}_${part}`;
    if (!raw.primary) {
      errors.push(`${variable('PRIMARY')}: is required when other SERVICE_TOKEN_${name}_* variables are set`);
      continue;
    }
    const tokenDigests: Buffer[] = [];
    for (const [part, token] of [
      ['PRIMARY', raw.primary],
      ['SECONDARY', raw.secondary],
    ] as const) {
      if (!token) continue;
      if (!isWellFormedToken(token, tokenPrefix)) {
        errors.push(
          `${variable(part)}: must be a well-formed ${tokenPrefix} token with a valid checksum (npm run token:generate)`,
        );
        continue;
      }
      const digest = tokenDigest(token);
      const owner = seenDigests.get(digest.toString('hex'));
      if (owner) {
        errors.push(`${variable(part)}: the same token is already configured as ${owner}`);
        continue;
      }
      seenDigests.set(digest.toString('hex'), variable(part));
      tokenDigests.push(digest);
    }
    const scopes = parseScopes(raw.scopes, variable('SCOPES'), errors);
    const rateLimit = raw.rateLimit ? parseApiRateLimit(raw.rateLimit) : defaultRateLimit;
    if (raw.rateLimit && !rateLimit) errors.push(`${variable('RATE_LIMIT')}: ${API_RATE_LIMIT_HINT}`);
    const dailyQuota = raw.dailyQuota ? parseDailyQuota(raw.dailyQuota) : undefined;
    if (raw.dailyQuota && !dailyQuota)
      errors.push(`${variable('DAILY_QUOTA')}: must be a whole number of emails of at least 1`);
    const byteQuota = raw.dailyByteQuota ? parseDailyByteQuota(raw.dailyByteQuota) : defaultByteQuota;
    if (raw.dailyByteQuota && !byteQuota)
      errors.push(`${variable('DAILY_BYTE_QUOTA')}: ${DAILY_BYTE_QUOTA_HINT}`);
    services.push({
      service: serviceNameOf(name),
      tokenDigests,
      scopes,
      ...(rateLimit && rateLimit !== 'unlimited' ? { rateLimit } : {}),
      ...(dailyQuota ? { dailyQuota } : {}),
      ...(byteQuota && byteQuota !== 'unlimited' ? { dailyByteQuota: byteQuota } : {}),
    });
  }
  return services;
}

function parseScopes(value: string | undefined, variable: string, errors: string[]): ReadonlySet<Scope> {
  if (value === undefined || value === '') return new Set(DEFAULT_SCOPES);
  const scopes = new Set<Scope>();
  for (const name of value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)) {
    if (isScope(name)) scopes.add(name);
    else errors.push(`${variable}: unknown scope "${name}"; expected a comma list of send, read, admin`);
  }
  return scopes;
}
