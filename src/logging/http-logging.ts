import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';
import { createRootLogger } from './root-logger';

/**
 * nestjs-pino settings: the process's root logger, and no middleware of nestjs-pino's own. pino-http, which it
 * would mount, builds three pino children per request (each serialising and redacting its bindings, 11 % of
 * an accept's CPU in a profile) even when the `request completed` line is below the level;
 * RequestLoggingMiddleware gives each request one child and writes that line only when it is enabled.
 */
export function httpLoggingParams(config: AppConfig): Params {
  return { pinoHttp: { logger: createRootLogger(config) }, forRoutes: [] };
}
