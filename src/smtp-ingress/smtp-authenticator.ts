import type { Caller } from '../auth/caller';
import { hasScope } from '../common/scopes';
import type { ServiceTokenVerifier } from '../auth/service-token.verifier';
import type { AppConfig } from '../config/app-config';

export type SmtpLogin =
  | { ok: true; caller: Caller }
  | { ok: false; reason: 'malformed' | 'unknown' | 'wrong-service' | 'no-send-scope' };

/** `Billing_API` and `billing-api` name the same service: as in SERVICE_TOKEN_<NAME>_PRIMARY, case and _ do not matter. */
const serviceName = (text: string): string => text.trim().toLowerCase().replace(/_/g, '-');

/**
 * AUTH PLAIN/LOGIN of the SMTP ingress: the user name is the service's name and the password its token,
 * checked by the same verifier as the REST API (format and checksum, then a constant-time comparison with
 * every configured digest), with the `send` scope required. A token of another service, even a valid one, is
 * refused: the user name must say whose it is. With authentication off (development), any login is the
 * service `anonymous`, as on the API.
 */
export function smtpLogin(
  username: string,
  password: string,
  verifier: ServiceTokenVerifier,
  auth: AppConfig['auth'],
): SmtpLogin {
  if (!auth.enabled)
    return {
      ok: true,
      caller: { service: 'anonymous', scopes: new Set(['send', 'read', 'admin']), isAdmin: true },
    };
  const result = verifier.check(password.trim());
  if (result.outcome !== 'valid') return { ok: false, reason: result.outcome };
  const { service, scopes } = result.credentials;
  if (serviceName(username) !== service) return { ok: false, reason: 'wrong-service' };
  if (!hasScope(scopes, 'send')) return { ok: false, reason: 'no-send-scope' };
  return { ok: true, caller: { service, scopes, isAdmin: scopes.has('admin') } };
}
