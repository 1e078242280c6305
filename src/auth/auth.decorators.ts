import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ProblemResponseDto } from '../common/problem-response.dto';
import type { Scope } from './scopes';

export const REQUIRED_SCOPE = 'freeface:required-scope';
export const IS_PUBLIC = 'freeface:public';

/** The scope a route needs; the guard refuses a caller without it with 403 (admin covers every scope). */
export const RequireScope = (scope: Scope) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPE, scope),
    ApiBearerAuth('bearer'),
    ApiSecurity('service-token'),
    ApiUnauthorizedResponse({
      description: 'No token, or a malformed or unknown one',
      type: ProblemResponseDto,
    }),
    ApiForbiddenResponse({ description: `The token lacks the \`${scope}\` scope`, type: ProblemResponseDto }),
  );

/** A route anyone may call without a token (health probes). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
