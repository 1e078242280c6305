import { ProblemError } from '../common/problem-error';

/** 401 for a callback not verified as its provider signs it: nothing was changed. */
export const callbackRefused = (detail: string) =>
  new ProblemError(401, 'unauthorized', detail, { headers: { 'www-authenticate': 'Signature' } });

/** 503 when the provider could not be asked to verify a callback: the callback may be genuine, so it retries. */
export const providerUnreachable = (detail: string) =>
  new ProblemError(503, 'service-unavailable', detail, { headers: { 'retry-after': '5' } });

/**
 * 406 for a verified Mailgun callback whose token was used before: a replay, possibly with other event data
 * (Mailgun signs only the timestamp and token). Nothing was changed. Mailgun documents 406 as "rejected, do not
 * retry", which is the truth here: its retries come minutes apart and must be signed anew to pass the
 * timestamp check, so a token seen again is never a delivery that could succeed later.
 */
export const callbackReplayed = (detail: string) => new ProblemError(406, 'replayed', detail);
