import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';

/** Documents the Idempotency-Key header that every POST takes (see IdempotencyGuard). */
export const ApiIdempotencyKey = () =>
  applyDecorators(
    ApiHeader({
      name: 'Idempotency-Key',
      required: false,
      description:
        'Up to 255 printable characters. Within IDEMPOTENCY_TTL_HOURS the same key and body get the first ' +
        'response again (with Idempotent-Replayed: true) and nothing runs twice; another body is a 409.',
    }),
  );

export const SEALED_RESPONSE = 'freeface:idempotency-sealed-response';

/**
 * For a POST whose response holds a secret (a webhook's signing secret): the response kept for replays is
 * stored encrypted, so that the secret never rests in Redis as it is.
 */
export const SealedIdempotentResponse = () => SetMetadata(SEALED_RESPONSE, true);
