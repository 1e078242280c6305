import { ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppLogger } from '../logging/app-logger';
import { PreparedResponse } from '../common/prepared-response';
import {
  PROBLEM_CONTENT_TYPE,
  problemBody,
  ProblemError,
  REDIS_RETRY_AFTER_SECONDS,
  type ProblemType,
} from '../common/problem-error';
import { isRedisConnectionError } from '../common/redis-unavailable.error';

const TYPE_BY_STATUS: Readonly<Record<number, ProblemType>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  422: 'template-error',
  429: 'rate-limited',
  503: 'service-unavailable',
};

interface FastifyError extends Error {
  code?: string;
  statusCode?: number;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : exception.message;
}

/**
 * Maps anything thrown while serving a request to a problem; unknown errors become an opaque 500.
 * `bodyLimitSetting` names the setting of the route's body limit, for a 413.
 */
function toProblem(exception: unknown, bodyLimitSetting = 'MAX_BODY_BYTES'): ProblemError {
  if (exception instanceof ProblemError) return exception;
  // Nest wraps fastify's own errors (body too large, bad JSON) in an HttpException: read the original.
  const cause =
    exception instanceof HttpException ? (exception.cause as FastifyError | undefined) : undefined;
  if (cause?.code?.startsWith('FST_') && typeof cause.statusCode === 'number' && cause.statusCode < 500) {
    return fromFastifyError(cause, cause.statusCode, bodyLimitSetting);
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return new ProblemError(status, TYPE_BY_STATUS[status] ?? 'bad-request', messageOf(exception));
  }
  if (isRedisConnectionError(exception)) {
    return new ProblemError(503, 'service-unavailable', 'The queue store is unreachable; retry shortly.', {
      headers: { 'retry-after': REDIS_RETRY_AFTER_SECONDS },
    });
  }
  const fastifyError = exception as FastifyError;
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500 && fastifyError.code?.startsWith('FST_')) {
    return fromFastifyError(fastifyError, status, bodyLimitSetting);
  }
  return new ProblemError(
    500,
    'internal-error',
    'An unexpected error occurred; quote the requestId when reporting it.',
  );
}

function fromFastifyError(error: FastifyError, status: number, bodyLimitSetting: string): ProblemError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProblemError(
        413,
        'payload-too-large',
        `The request body is larger than the limit (${bodyLimitSetting}).`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProblemError(415, 'unsupported-media-type', 'Send the body as application/json.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ProblemError(400, 'bad-request', `The body is not valid JSON: ${error.message}`);
    default:
      return new ProblemError(status, TYPE_BY_STATUS[status] ?? 'bad-request', error.message);
  }
}

/** Writes a problem as the response. */
function sendProblem(reply: FastifyReply, problem: ProblemError, requestId: string): void {
  void reply
    .status(problem.getStatus())
    .headers(problem.headers)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem, requestId));
}

/**
 * Every error leaves as RFC 9457 problem+json with the request id; a 500 is logged once with its stack. A
 * PreparedResponse (a guard's settled answer, not an error) leaves as it is.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: AppLogger) {
    this.logger.setContext('http');
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (exception instanceof PreparedResponse) {
      void reply.status(exception.status).headers(exception.headers).send(exception.body);
      return;
    }
    const problem = toProblem(exception, request.routeOptions?.config?.bodyLimitSetting);
    this.record(problem, exception);
    sendProblem(reply, problem, String(request.id));
  }

  record(problem: ProblemError, exception: unknown): void {
    const status = problem.getStatus();
    if (status === 503) this.logger.warn({ err: exception }, 'request refused: dependency unavailable');
    else if (status >= 500) this.logger.error({ err: exception }, 'request failed with an unexpected error');
  }
}
