import { createHash } from 'node:crypto';
import { DEFAULT_SCOPES, isScope, type Scope } from '../auth/scopes';
import { isWellFormedToken } from '../auth/token-format';
import type { ServiceCredentials } from './app-config';

const TOKEN_VARIABLE = /^SERVICE_TOKEN_([A-Z0-9][A-Z0-9_]*)_(PRIMARY|SECONDARY|SCOPES)$/;

/** SHA-256 of a token: the only form in which a token is kept after start. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `BILLING_API` → `billing-api`: the name used in audit, metrics and logs. */
export function serviceNameOf(variableName: string): string {
  return variableName.toLowerCase().replace(/_/g, '-');
}

interface RawService {
  primary?: string;
  secondary?: string;
  scopes?: string;
}

/**
 * Reads every `SERVICE_TOKEN_<NAME>_{PRIMARY,SECONDARY,SCOPES}` variable. Problems are appended to `errors`
 * by variable name, never with the value.
 */
export function readServiceCredentials(
  env: Readonly<Record<string, string | undefined>>,
  tokenPrefix: string,
  errors: string[],
): ServiceCredentials[] {
  const byName = new Map<string, RawService>();
  for (const [key, value] of Object.entries(env)) {
    const match = TOKEN_VARIABLE.exec(key);
    if (!match || value === undefined) continue;
    const [, name, part] = match as unknown as [string, string, 'PRIMARY' | 'SECONDARY' | 'SCOPES'];
    const entry = byName.get(name) ?? {};
    entry[part.toLowerCase() as keyof RawService] = value.trim();
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
    services.push({ service: serviceNameOf(name), tokenDigests, scopes });
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
