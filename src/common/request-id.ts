import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';

const ACCEPTABLE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * fastify's `genReqId`: the caller's `X-Request-Id` when it is a sane token (so a trace spans services),
 * otherwise a new UUID. Anything else is replaced: a request id lands in every log line and must not carry
 * line breaks or megabytes.
 */
export function requestIdFor(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** The request's id, as echoed in `X-Request-Id` and in every log line of the request. */
export const RequestId = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string =>
    context.switchToHttp().getRequest<FastifyRequest>().id,
);
