import type { DynamicModule, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { clientErrorHandler, frameworkErrors } from './http-framework-errors';
import { requestIdFor } from '../common/request-id';
import { nestLogger } from '../logging/nest-logger';

export interface HttpAppOptions {
  /** The largest request body the port reads (MAX_BODY_BYTES on the api). */
  bodyLimit: number;
  /** `TRUST_PROXY`: which X-Forwarded-For hops to believe for `request.ip` (failed sign-ins count against it). */
  trustProxy: false | string;
  /** How long requests in flight may run on once the port closes (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs: number;
  /** The logger Nest writes through; by default the application's own (for the first application of a process). */
  logger?: LoggerService;
}

/**
 * One port of FreeFace: a Nest application on fastify, with what every port shares. Request ids come from
 * `X-Request-Id` (when sane) and are echoed in the response; a URL or request fastify refuses before any route
 * is answered in problem+json (http-framework-errors.ts), and 404s and every other error go through the port's
 * ProblemDetailsFilter. Bodies are fastify's own JSON (Nest's parsers, which add urlencoded forms, are off).
 * Call `init()` and `listen()` on the result once the port's own fastify hooks and plugins are added.
 */
export async function createHttpApp(
  module: DynamicModule,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit,
    trustProxy: options.trustProxy,
    genReqId: requestIdFor,
    logger: false,
    frameworkErrors,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    ...(options.logger ? { logger: options.logger } : { bufferLogs: true }),
    abortOnError: false,
    bodyParser: false,
  });
  if (!options.logger) app.useLogger(await nestLogger(app));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  closeGracefully(fastify, options.shutdownTimeoutMs);
  return app;
}

/**
 * Closing the port: it stops listening, and the requests in flight finish, for at most `timeoutMs`. Idle
 * keep-alive connections are closed by Node; a connection that never carried a request (a client's spare
 * connection, a TCP probe) is not idle to Node, and the close would wait for it until the deadline, so it is
 * ended here. Tracked per connection: nothing is added to a request's path.
 */
function closeGracefully(fastify: FastifyInstance, timeoutMs: number): void {
  const connections = new Set<Socket>();
  fastify.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  fastify.addHook('preClose', (done) => {
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
    setTimeout(() => fastify.server.closeAllConnections(), timeoutMs).unref();
    done();
  });
}
