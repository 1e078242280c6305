import { applyDecorators } from '@nestjs/common';
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
