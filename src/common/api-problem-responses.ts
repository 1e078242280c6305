import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ProblemResponseDto } from './problem-response.dto';

const DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid request: `errors` names each field to fix',
  401: 'Not authenticated (a provider callback: its signature did not verify)',
  404: 'No such resource, or it belongs to another service',
  409: 'Conflicts with the current state',
  413: 'Body larger than MAX_BODY_BYTES, or template data larger than MAX_DATA_BYTES (`errors` names each)',
  415: 'Body is not application/json',
  422: 'Template missing or failing to render with the data',
  503: 'Redis unreachable; retry after the Retry-After seconds',
};

/** Documents the problem+json error responses a route can give (401/403 come with @RequireScope). */
export const ApiProblemResponses = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        type: ProblemResponseDto,
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemResponseDto' } },
        },
      }),
    ),
  );
