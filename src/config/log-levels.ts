import { LOG_LEVELS, type Environment, type LogLevel } from './env.schema';

const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

export function levelValue(level: LogLevel): number {
  return LEVEL_VALUES[level];
}

/** The default level when `LOG_LEVEL` is not set: chatty where people develop, quieter where they operate. */
export function defaultLogLevel(environment: Environment): LogLevel {
  return environment === 'development' ? 'debug' : 'info';
}

/**
 * Parses `smtp=debug,templates=trace` into a map of logger name to level. Bad entries are reported through
 * `errors` under `variable`, so one message can list every problem.
 */
export function parseLogLevels(text: string, variable: string, errors: string[]): Record<string, LogLevel> {
  const levels: Record<string, LogLevel> = {};
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const parts = entry.split('=').map((s) => s.trim().toLowerCase());
    const [name, level] = parts;
    if (parts.length !== 2 || !name || !isLogLevel(level)) {
      errors.push(
        `${variable}: "${entry}" must look like name=level with level one of ${LOG_LEVELS.join(', ')}`,
      );
      continue;
    }
    levels[name] = level;
  }
  return levels;
}

/**
 * Reads the `levels:` map of a logging YAML document already parsed into `document`.
 * Accepts `{ levels: { smtp: debug } }`; anything else is reported.
 */
export function levelsFromDocument(
  document: unknown,
  source: string,
  errors: string[],
): Record<string, LogLevel> {
  if (document === null || document === undefined) return {};
  const levels = (document as { levels?: unknown }).levels;
  if (levels === undefined || levels === null) return {};
  if (typeof levels !== 'object' || Array.isArray(levels)) {
    errors.push(`${source}: "levels" must be a map of logger name to level`);
    return {};
  }
  const result: Record<string, LogLevel> = {};
  for (const [name, level] of Object.entries(levels)) {
    if (isLogLevel(level)) result[name.toLowerCase()] = level;
    else errors.push(`${source}: level of "${name}" must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return result;
}

/** The lowest (most verbose) of the levels: the root logger must let through whatever any named logger wants. */
export function mostVerbose(levels: readonly LogLevel[]): LogLevel {
  return levels.reduce((a, b) => (levelValue(b) < levelValue(a) ? b : a), 'silent' as LogLevel);
}
