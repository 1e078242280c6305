import { Injectable, type NestMiddleware } from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppLogger } from './app-logger';

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
    this.logger.runInContext(
      () => {
        // Bound to this request's context, so the line carries what was assigned to it (the service).
        if (!PROBE_PATHS.test(req.url ?? ''))
          res.once(
            'close',
            AsyncResource.bind(() => this.ended(req, res, startedAt)),
          );
        next();
      },
      { bindings: { requestId: req.id } },
    );
  }

  private ended(req: IdentifiedRequest, res: ServerResponse, startedAt: number): void {
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
    this.logger[level](line, status >= 500 ? 'request failed' : 'request completed');
  }
}
