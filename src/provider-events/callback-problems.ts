import { ProblemError } from '../common/problem-error';

/** 401 for a callback not verified as its provider signs it: nothing was changed. */
export const callbackRefused = (detail: string) =>
  new ProblemError(401, 'unauthorized', detail, { headers: { 'www-authenticate': 'Signature' } });

/** 503 when the provider could not be asked to verify a callback: the callback may be genuine, so it retries. */
export const providerUnreachable = (detail: string) =>
  new ProblemError(503, 'service-unavailable', detail, { headers: { 'retry-after': '5' } });
