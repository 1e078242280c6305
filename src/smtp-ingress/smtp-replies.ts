import { ProblemError } from '../common/problem-error';
import { isRedisConnectionError } from '../common/redis-unavailable.error';

/** An error smtp-server answers with its `responseCode` (and the enhanced status code it maps it to). */
export type SmtpError = Error & { responseCode: number };

/**
 * The enhanced status code (RFC 3463) each of our replies carries. smtp-server's own would answer an accepted
 * message with 2.6.0; the contract pins `250 2.0.0 queued as <id>`, so the ingress writes them itself.
 */
const ENHANCED: Readonly<Record<number, string>> = {
  250: '2.0.0',
  421: '4.3.2',
  450: '4.7.0',
  451: '4.3.0',
  452: '4.5.3',
  535: '5.7.8',
  552: '5.3.4',
  554: '5.6.0',
};

/** `<enhanced code> <text>`, as the reply's text (after the basic code smtp-server writes). */
export const withEnhancedCode = (code: number, text: string): string =>
  ENHANCED[code] ? `${ENHANCED[code]} ${text}` : text;

export function smtpError(code: number, message: string): SmtpError {
  return Object.assign(new Error(withEnhancedCode(code, message)), { responseCode: code });
}

/**
 * The SMTP reply for a refusal on the way into the pipeline, so that a client retries what may succeed later
 * (4xx) and gives up on what never will (5xx): the API's 429 (rate limit, daily quota) is a 450, Redis away
 * (the API's 503) a 451, bad content (400, 413, 422) a 554 with what to fix; anything else a 451, since the
 * fault is ours and a retry may find it fixed.
 */
export function smtpReplyFor(error: unknown): SmtpError {
  if (error instanceof ProblemError) {
    const status = error.getStatus();
    const first = error.errors?.[0];
    const why = first ? `${first.field} ${first.message}` : error.detail;
    if (status === 429) return smtpError(450, `Rate limited: ${error.detail}`);
    if (status === 503) return smtpError(451, 'Storage unavailable, try again later');
    if (status === 413) return smtpError(552, 'Message too large');
    if (status >= 400 && status < 500) return smtpError(554, `Message refused: ${why}`);
  }
  if (isRedisConnectionError(error)) return smtpError(451, 'Storage unavailable, try again later');
  return smtpError(451, 'Local error, try again later');
}
