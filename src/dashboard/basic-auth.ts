import { createHash, timingSafeEqual } from 'node:crypto';

/** The challenge of a 401: the browser shows its sign-in dialog and sends UTF-8 credentials (RFC 7617). */
export const WWW_AUTHENTICATE = 'Basic realm="FreeFace dashboard", charset="UTF-8"';

export interface BasicCredentials {
  user: string;
  password: string;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check of presented credentials against the configured ones. Both sides are hashed first, so
 * `timingSafeEqual` compares equal lengths and the time taken says nothing about the length or content of
 * either; user and password are both compared before the verdict (no early exit on a wrong user).
 */
export function credentialsCheck(expected: BasicCredentials): (user: string, password: string) => boolean {
  const userDigest = sha256(expected.user);
  const passwordDigest = sha256(expected.password);
  return (user, password) => {
    const userMatches = timingSafeEqual(sha256(user), userDigest);
    const passwordMatches = timingSafeEqual(sha256(password), passwordDigest);
    return userMatches && passwordMatches;
  };
}
