import { HttpException } from '@nestjs/common';

export interface FieldError {
  /** Where the problem is, in the request's own terms: `to[0]`, `attachments[1].filename`, `headers.X-Foo`. */
  field: string;
  message: string;
}

/** Problem types of the API; the `type` URI of each is `urn:freeface:problem:<slug>`. */
export const PROBLEM_TYPES = {
  'validation-error': 'The request is not valid',
  'bad-request': 'The request could not be read',
  unauthorized: 'Authentication required',
  forbidden: 'Not allowed',
  'not-found': 'Not found',
  conflict: 'Conflict with the current state',
  'payload-too-large': 'Request body too large',
  replayed: 'Already received',
  'unsupported-media-type': 'Unsupported media type',
  'template-error': 'Template cannot be rendered',
  'rate-limited': 'Too many requests',
  'internal-error': 'Internal error',
  'service-unavailable': 'Service temporarily unavailable',
} as const;
export type ProblemType = keyof typeof PROBLEM_TYPES;

export interface ProblemOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members of the problem object (RFC 9457 extensions), e.g. the failing health checks. */
  extensions?: Record<string, unknown>;
}

/**
 * An RFC 9457 problem. Throw it from anywhere; the global filter renders it as `application/problem+json`.
 * `detail` is read by people: say what is wrong and what to do, and never include a secret.
 */
export class ProblemError extends HttpException {
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(
    status: number,
    readonly problemType: ProblemType,
    readonly detail: string,
    options: ProblemOptions = {},
  ) {
    super(detail, status);
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

export const notFound = (what: string) => new ProblemError(404, 'not-found', `${what} does not exist`);

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
/** What a 503 for an unreachable Redis asks the caller to wait, in seconds. */
export const REDIS_RETRY_AFTER_SECONDS = '5';

/** A problem's RFC 9457 body, as JSON text. */
export function problemBody(problem: ProblemError, requestId: string): string {
  return JSON.stringify({
    type: `urn:freeface:problem:${problem.problemType}`,
    title: PROBLEM_TYPES[problem.problemType],
    status: problem.getStatus(),
    detail: problem.detail,
    requestId,
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...problem.extensions,
  });
}
