import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ProblemError } from '../common/problem-error';
import type { AppLogger } from '../logging/app-logger';
import { isSameOriginRequest } from './csrf';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A dashboard route that changes something: the page's own requests only (isSameOriginRequest). */
    sameOriginOnly?: boolean;
  }
}

/** The route config (`@RouteConfig`) of the dashboard's routes that change something. */
export const SAME_ORIGIN_ONLY = 'sameOriginOnly';

/** Our own pages load only what this port serves; bull-board's needs inline styles as well. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The monitor port's response headers, on every response (bull-board's and the errors' too). */
export function addSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', async (_request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  });
}

/**
 * CSRF protection of the routes marked `sameOriginOnly`: a 403 unless the request is the page's own
 * (isSameOriginRequest). Checked when the request arrives, after the sign-in and before any body is read, so
 * that a cross-site form post gets a 403, not a 415. Call before the app's init, which registers the routes.
 */
export function refuseCrossOriginChanges(fastify: FastifyInstance, logger: AppLogger): void {
  const refusal = (request: FastifyRequest): ProblemError | undefined => {
    if (isSameOriginRequest(request.headers)) return undefined;
    logger.warn(
      { path: request.url.split('?')[0]!.slice(0, 200), requestId: request.id },
      'dashboard post refused: not same-origin',
    );
    return new ProblemError(
      403,
      'forbidden',
      'Changes are accepted from the dashboard page only (same origin, with its X-Requested-With header).',
    );
  };
  const refuse: onRequestHookHandler = (request, _reply, done) => done(refusal(request));
  fastify.addHook('onRoute', (route) => {
    if (!route.config?.sameOriginOnly) return;
    const hooks = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [...hooks, refuse];
  });
}
