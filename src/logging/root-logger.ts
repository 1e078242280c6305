import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { logContext } from './log-context';
import { mostVerbose } from '../config/log-levels';
import { createLineScrubber, REDACTED, REDACTED_PATHS } from './redaction';

/**
 * The process's one pino logger. Its level is the most verbose any named logger asks for; `AppLogger` then
 * applies each name's own level. Lines go to stdout only, as JSON (or pretty-printed in development).
 */
export function createRootLogger(config: AppConfig): Logger {
  const { logging } = config;
  const options: pino.LoggerOptions = {
    level: mostVerbose([logging.level, ...Object.values(logging.levels)]),
    base: { app: 'freeface', pid: process.pid, roles: [...config.roles].join(',') },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // The current request's or job's fields (requestId, service, emailId) on every line written inside it.
    mixin: () => logContext.fields(),
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    hooks: { streamWrite: createLineScrubber(logging.secrets) },
  };
  if (logging.format === 'pretty') {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { destination: 1, singleLine: true, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  // Asynchronous stdout keeps logging off the request's critical path; pino flushes it when the process exits.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
