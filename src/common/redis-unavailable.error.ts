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
  // A command in flight when its connection closed, or a blocked one released by a REPLICAOF (a failover).
  /Command aborted due to connection close/,
  /^UNBLOCKED /,
  // A cluster while a slot's primary fails over or its slots move: the command was redirected until ioredis
  // gave up, or no node could be reached; it did not run.
  /Too many Cluster redirections/,
  /Failed to refresh slots cache/,
  /None of startup nodes is available/,
];

/**
 * Replies of a reachable Redis that cannot take writes for now: out of memory under `noeviction`, a replica
 * after a failover, too few replicas for `min-replicas-to-write`, a busy script, a cluster in reconfiguration.
 * Nothing was stored, and the same call can succeed later.
 */
const CANNOT_WRITE_NOW = /^(OOM|READONLY|NOREPLICAS|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN) /;

/**
 * Whether an error from ioredis or Bull means "Redis cannot serve this now" (unreachable, or refusing writes
 * for a while) rather than a bug.
 */
export function isRedisConnectionError(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return (
    CONNECTION_ERROR_PATTERNS.some((pattern) => pattern.test(error.message)) ||
    CANNOT_WRITE_NOW.test(error.message)
  );
}
