import { PermanentDeliveryError, TransientDeliveryError, type DeliveryError } from './delivery-errors';

/** Network-level failures: the message never got a verdict, so another try may succeed. */
const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPROTOCOL',
  'EAUTH',
]);

const MAX_REASON_LENGTH = 500;

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/**
 * Classifies a nodemailer failure (RFC 5321): a 4xx reply is transient, a 5xx reply is permanent, and
 * network errors are transient. EAUTH and ETLS count as transient even with a 5xx reply: rejected
 * credentials and a server that will not do STARTTLS (its 502 to the command) are the service's own
 * setup, not something wrong with the email, so they must not dead-letter it; the next provider may take it.
 */
export function classifySmtpError(error: unknown): DeliveryError {
  const smtp = (error ?? {}) as SmtpError;
  const code = smtp.code ?? '';
  if (code === 'ETLS') {
    const reason = `TLS with the SMTP server failed, nothing was sent in plaintext: ${smtp.message ?? ''}`;
    return new TransientDeliveryError('smtp', reason.slice(0, MAX_REASON_LENGTH), { cause: error });
  }
  const reason = (smtp.response || smtp.message || 'SMTP delivery failed').slice(0, MAX_REASON_LENGTH);
  const status = smtp.responseCode;
  if (code === 'EAUTH' || (TRANSIENT_CODES.has(code) && !status)) {
    return new TransientDeliveryError('smtp', reason, { cause: error });
  }
  if (status !== undefined && status >= 500)
    return new PermanentDeliveryError('smtp', reason, { cause: error });
  if (status !== undefined && status >= 400)
    return new TransientDeliveryError('smtp', reason, { cause: error });
  if (code === 'EENVELOPE' || code === 'EMESSAGE')
    return new PermanentDeliveryError('smtp', reason, { cause: error });
  return new TransientDeliveryError('smtp', reason, { cause: error });
}
