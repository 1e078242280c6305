import { createHash, timingSafeEqual } from 'node:crypto';

/** The challenge of a 401: the browser shows its sign-in dialog and sends UTF-8 credentials (RFC 7617). */
export const WWW_AUTHENTICATE = 'Basic realm="FreeFace dashboard", charset="UTF-8"';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** What a request's `Authorization` header amounts to; `user` is what was presented, never the password. */
export type BasicAuthResult =
  | { outcome: 'ok'; user: string }
  | { outcome: 'missing' }
  | { outcome: 'malformed' }
  | { outcome: 'wrong'; user: string };

const BASIC_HEADER = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** The user and password of an `Authorization: Basic <base64(user:password)>` header; undefined if it is not one. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  const encoded = header === undefined ? undefined : BASIC_HEADER.exec(header)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  // The user may not contain a colon; the password may (RFC 7617 section 2).
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check of `Authorization` headers against the configured credentials. Both sides are hashed first, so
 * `timingSafeEqual` compares equal lengths and the time taken says nothing about the length or content of
 * either; user and password are both compared before the verdict (no early exit on a wrong user).
 */
export function basicAuthVerifier(
  expected: BasicCredentials,
): (header: string | undefined) => BasicAuthResult {
  const userDigest = sha256(expected.user);
  const passwordDigest = sha256(expected.password);
  return (header) => {
    if (header === undefined || header === '') return { outcome: 'missing' };
    const given = parseBasicAuthorization(header);
    if (!given) return { outcome: 'malformed' };
    const userMatches = timingSafeEqual(sha256(given.user), userDigest);
    const passwordMatches = timingSafeEqual(sha256(given.password), passwordDigest);
    return userMatches && passwordMatches
      ? { outcome: 'ok', user: given.user }
      : { outcome: 'wrong', user: given.user };
  };
}
