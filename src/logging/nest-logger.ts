import type { INestApplicationContext } from '@nestjs/common';
import { Logger, PARAMS_PROVIDER_TOKEN, type Params } from 'nestjs-pino';
import { AppLogger } from './app-logger';

/**
 * The logger Nest itself writes through (module loading, routes, its own errors), as the named logger
 * `nest`: its lines obey LOG_LEVELS=nest=… like any other logger's, rather than the root logger's level, which
 * may be lower when some other logger is set more verbose.
 */
export async function nestLogger(app: INestApplicationContext): Promise<Logger> {
  const logger = await app.resolve(AppLogger);
  logger.setContext('nest');
  return new Logger(logger, app.get<Params>(PARAMS_PROVIDER_TOKEN));
}
