/** Redis cannot be reached right now; callers answer 503 with Retry-After and accept nothing. */
export class RedisUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('Redis is unavailable', { cause });
    this.name = 'RedisUnavailableError';
  }
}

const CONNECTION_ERROR_PATTERNS = [
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /enableOfflineQueue/i,
  /ECONNREFUSED/,
  /ECONNRESET/,
  /ETIMEDOUT/,
  /Command timed out/i,
  /Reached the max retries per request limit/i,
  /LOADING/,
];

/** Whether an error from ioredis or Bull means "Redis is not reachable" rather than a bug. */
export function isRedisConnectionError(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return CONNECTION_ERROR_PATTERNS.some((pattern) => pattern.test(error.message));
}
