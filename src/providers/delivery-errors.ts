/** A failure worth retrying: the same message may go through later or through another provider. */
export class TransientDeliveryError extends Error {
  readonly permanent = false;
  constructor(
    readonly provider: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientDeliveryError';
  }
}

/** A failure no retry will fix (rejected recipient, rejected content): the email goes to dead letters. */
export class PermanentDeliveryError extends Error {
  readonly permanent = true;
  constructor(
    readonly provider: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
  }
}

export type DeliveryError = TransientDeliveryError | PermanentDeliveryError;

export function isDeliveryError(error: unknown): error is DeliveryError {
  return error instanceof TransientDeliveryError || error instanceof PermanentDeliveryError;
}
