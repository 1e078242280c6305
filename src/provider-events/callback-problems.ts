import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';
import { ProblemError } from '../common/problem-error';
import { ProblemResponseDto } from '../common/problem-response.dto';

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

const problemResponse = (status: number, description: string, extra: Partial<ApiResponseOptions> = {}) =>
  ApiResponse({
    status,
    description,
    type: ProblemResponseDto,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponseDto' } } },
    ...extra,
  });

/** Documents the limits every provider callback has (CallbackAdmission): its body limit and rate limit. */
export const ApiCallbackLimits = () =>
  applyDecorators(
    problemResponse(413, 'Body larger than PROVIDER_CALLBACK_MAX_BODY_BYTES (default 1 MiB)'),
    problemResponse(
      429,
      'This client address is over PROVIDER_CALLBACK_RATE_LIMIT (default 100/s, all callback routes together); ' +
        'retry after Retry-After seconds, as every provider does',
      {
        headers: {
          'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } },
        },
      },
    ),
  );

/** Documents the 406 of a replayed Mailgun callback (callbackReplayed). */
export const ApiCallbackReplayed = () =>
  problemResponse(
    406,
    'The signature’s token was used before (a replay): nothing changed, and Mailgun does not retry a 406',
  );
