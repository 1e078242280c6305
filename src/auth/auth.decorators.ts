import { applyDecorators, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ProblemResponseDto } from '../common/problem-response.dto';
import type { Scope } from '../common/scopes';

export const REQUIRED_SCOPE = 'freeface:required-scope';
export const IS_PUBLIC = 'freeface:public';
export const NOT_RATE_LIMITED = 'freeface:not-rate-limited';

const integerHeader = (description: string, minimum = 1) => ({
  description,
  schema: { type: 'integer', minimum },
});

const tooManyRequests = ApiTooManyRequestsResponse({
  description:
    "Over the service's API rate limit, too many failed authentications from this address, or (when sending " +
    'email) over the daily quota; retry after Retry-After seconds (docs/RATE-LIMITS.md)',
  type: ProblemResponseDto,
  headers: {
    'Retry-After': integerHeader('Seconds to wait before calling again'),
    'RateLimit-Limit': integerHeader("The service's bucket size (over its API rate limit only)"),
    'RateLimit-Remaining': integerHeader('Calls left: 0 (over its API rate limit only)', 0),
    'RateLimit-Reset': integerHeader('Seconds until the next call is let through (API rate limit only)'),
  },
});

/**
 * The scope a route needs; the guard refuses a caller without it with 403 (admin covers every scope). The
 * route counts against the caller's rate limits unless `rateLimited: false` (metrics scrapes).
 */
export const RequireScope = (scope: Scope, options: { rateLimited?: boolean } = {}) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPE, scope),
    ApiBearerAuth('bearer'),
    ApiSecurity('service-token'),
    ApiUnauthorizedResponse({
      description: 'No token, or a malformed or unknown one',
      type: ProblemResponseDto,
    }),
    ApiForbiddenResponse({ description: `The token lacks the \`${scope}\` scope`, type: ProblemResponseDto }),
    ...(options.rateLimited === false ? [SetMetadata(NOT_RATE_LIMITED, true)] : [tooManyRequests]),
  );

/** A route anyone may call without a token (health probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
