import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, problemBody, ProblemError } from '../common/problem-error';

/**
 * Errors fastify answers before any route, hook or Nest filter runs: a URL that is not valid percent-encoding
 * (`frameworkErrors`), and bytes that are not HTTP at all — CR/LF or NUL inside a header, two
 * Content-Length headers, Content-Length with chunked encoding (`clientErrorHandler`). Left to fastify they
 * are answered in its own JSON shape; these keep every error of the API problem+json.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const badUrl = error.code === 'FST_ERR_BAD_URL';
  const detail = badUrl ? 'The URL is not valid percent-encoding.' : 'The request could not be read.';
  // Before routing, nothing routes errors to the application's handler (the problem+json filter): handed over.
  request.server.errorHandler(new ProblemError(400, 'bad-request', detail), request, reply);
}

/** Answers a request the HTTP parser refused, then closes the connection (its framing cannot be trusted). */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const detail = tooLarge
    ? 'The request headers are too large.'
    : 'The request is not valid HTTP (for example CR or LF inside a header, or conflicting lengths).';
  // No request and no reply exist yet: the response is written on the socket itself.
  const body = problemBody(new ProblemError(status, 'bad-request', detail), randomUUID());
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}
