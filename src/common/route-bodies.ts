import { pipeline, Transform } from 'node:stream';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  errorCodes,
  type FastifyContextConfig,
  type FastifyInstance,
  type FastifyRequest,
  type preParsingHookHandler,
} from 'fastify';

declare module 'fastify' {
  // fastify's own extension points: a route's `config`, and the bytes kept for a route that keeps them.
  interface FastifyContextConfig {
    /** Keep the body's bytes as received (`@RawBody()`), for a signature over them. */
    keepRaw?: boolean;
    /** Also take a JSON body sent as `text/plain` (Amazon SNS posts its JSON so). */
    textPlainAsJson?: boolean;
    /** The setting its body limit comes from, named in its 413 (default MAX_BODY_BYTES). */
    bodyLimitSetting?: string;
  }
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

/** What a route may ask of its request body, besides the JSON every route takes. */
export type RouteBodyOptions = Pick<FastifyContextConfig, 'keepRaw' | 'textPlainAsJson'>;

/** Gives the route's body these options (it sets the fastify route `config`: one RouteBody per route). */
export const RouteBody = (options: RouteBodyOptions) => RouteConfig(options);

/** The body's bytes as received, on a route with `RouteBody({ keepRaw: true })`; undefined without a body. */
export const RawBody = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Buffer | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().rawBody,
);

/**
 * Copies the body's chunks aside as fastify's own parser reads them, so the route gets both the parsed JSON
 * and the bytes. A pass-through: fastify still enforces the body limit and Content-Length on what it reads.
 */
const keepRawBody: preParsingHookHandler = (request, _reply, payload, done) => {
  const chunks: Buffer[] = [];
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      request.rawBody = Buffer.concat(chunks);
      callback();
    },
  });
  // A failing upload destroys the tee with its error, which fastify's reader then reports (400).
  pipeline(payload, tee, () => undefined);
  done(null, tee);
};

/**
 * Serves RouteBody's options with no cost to other routes: the raw-body hook is added to the routes that keep
 * it only (when they are registered, so call this before the app's init), and `text/plain` is parsed as JSON
 * for the routes that take it, while every other route keeps answering 415 to it, as when fastify had no
 * parser for it at all. The JSON is fastify's own parser, with its prototype-poisoning checks.
 */
export function supportRouteBodies(fastify: FastifyInstance): void {
  fastify.addHook('onRoute', (route) => {
    if (!route.config?.keepRaw) return;
    const hooks = route.preParsing === undefined ? [] : [route.preParsing].flat();
    route.preParsing = [...hooks, keepRawBody];
  });
  const json = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, (request, body, done) => {
    if (!request.routeOptions.config.textPlainAsJson) {
      done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type']), undefined);
      return;
    }
    void json(request, body as string, done);
  });
}
