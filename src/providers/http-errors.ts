import { PermanentDeliveryError, TransientDeliveryError, type DeliveryError } from './delivery-errors';

const MAX_REASON_LENGTH = 500;

/**
 * Classifies an HTTP provider's answer by status: 429 and 5xx are transient (the same request may pass
 * later); any other 4xx (400 bad request, 401/403 rejected key, 413 too large, …) is permanent.
 */
export function classifyHttpFailure(
  provider: string,
  status: number,
  reason: string,
  cause?: unknown,
): DeliveryError {
  const text = `${status} ${reason}`.trim().slice(0, MAX_REASON_LENGTH);
  return status === 429 || status >= 500
    ? new TransientDeliveryError(provider, text, { cause })
    : new PermanentDeliveryError(provider, text, { cause });
}

/** A failure before any HTTP answer (DNS, refused or reset connection, timeout): always transient. */
export function networkFailure(provider: string, error: unknown): DeliveryError {
  const message = error instanceof Error ? error.message : String(error);
  return new TransientDeliveryError(provider, `network error: ${message}`.slice(0, MAX_REASON_LENGTH), {
    cause: error,
  });
}
