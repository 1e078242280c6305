import type { HealthCheckResult } from '@nestjs/terminus';
import { ProblemError, REDIS_RETRY_AFTER_SECONDS } from '../common/problem-error';

/** A failed readiness check as a 503 problem, with each check's state in `checks`. */
export function notReadyProblem(result: HealthCheckResult): ProblemError {
  const failing = Object.keys(result.error ?? {});
  return new ProblemError(503, 'service-unavailable', `Not ready: ${failing.join(', ') || 'unknown'} down.`, {
    headers: { 'retry-after': REDIS_RETRY_AFTER_SECONDS },
    extensions: { checks: result.details },
  });
}
