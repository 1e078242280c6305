import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { LevelWithSilent } from 'pino';
import type { AppConfig } from '../config/app-config';
import { levelValue } from './log-levels';
import { createRootLogger } from './root-logger';

const PROBE_PATHS = /^\/health(\/|$|\?)/;

/**
 * nestjs-pino settings: one `request completed` line per request at the `http` logger's level, a request-bound
 * child logger carrying `requestId` (fastify's request id, taken from `X-Request-Id` when valid), no headers
 * and no bodies. Kubernetes probes are not logged.
 */
export function httpLoggingParams(config: AppConfig): Params {
  const logger = createRootLogger(config);
  const httpThreshold = levelValue(config.logging.levels['http'] ?? config.logging.level);
  return {
    // nestjs-pino's default route pattern ('{/*splat}') is never matched by @fastify/middie under Nest 12,
    // which would silently drop request logging; this pattern is.
    forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
    pinoHttp: {
      logger,
      genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id: string }).id,
      customAttributeKeys: { reqId: 'requestId' },
      quietReqLogger: true,
      autoLogging: { ignore: (req: IncomingMessage) => PROBE_PATHS.test(req.url ?? '') },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error): LevelWithSilent => {
        const level = error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info';
        return levelValue(level) >= httpThreshold ? level : 'silent';
      },
      customSuccessMessage: () => 'request completed',
      customErrorMessage: () => 'request failed',
      customProps: () => ({ context: 'http' }),
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
