import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppLogger } from './app-logger';
import { logContext, type LogContext } from './log-context';

const PROBE_PATHS = /^\/health(\/|$|\?)/;

type IdentifiedRequest = IncomingMessage & { id?: string };

/**
 * Runs each request in a logging context of its own, so that every line written while serving it carries its
 * `requestId` (fastify's request id: the caller's `X-Request-Id` when valid), and writes one line when it ends
 * at the `http` logger's level: `request completed` (info, or warn for a 4xx) or `request failed` (error, for
 * a 5xx), with the method, the URL, the status and the time taken; never headers or bodies. Kubernetes probes
 * are not logged.
 */
@Injectable()
export class RequestLoggingMiddleware implements NestMiddleware {
  constructor(private readonly logger: AppLogger) {
    this.logger.setContext('http');
  }

  use(req: IdentifiedRequest, res: ServerResponse, next: () => void): void {
    const startedAt = Date.now();
    const context: LogContext = { requestId: req.id };
    if (!PROBE_PATHS.test(req.url ?? '')) res.once('close', () => this.ended(req, res, startedAt, context));
    logContext.run(context, next);
  }

  private ended(req: IdentifiedRequest, res: ServerResponse, startedAt: number, context: LogContext): void {
    const status = res.statusCode;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    // Flat fields: pino-http's serializers, still on the root logger, would read `req`/`res` as raw objects.
    const line = {
      method: req.method,
      url: req.url,
      statusCode: status,
      responseTime: Date.now() - startedAt,
      ...(res.writableFinished ? {} : { aborted: true }),
    };
    // In the request's context, which by now also names the calling service.
    logContext.run(context, () =>
      this.logger[level](line, status >= 500 ? 'request failed' : 'request completed'),
    );
  }
}
