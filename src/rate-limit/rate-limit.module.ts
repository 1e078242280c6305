import { Module } from '@nestjs/common';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { DailyQuotaStore } from './daily-quota.store';
import { RequestLimiter } from './request-limiter';
import { UncheckedLimits } from './unchecked-limits';

/**
 * The limits on callers (docs/RATE-LIMITS.md): the per-service API rate limit, applied by ServiceTokenGuard;
 * the slow-down of failed authentication per client address, for the API, the SMTP ingress and the
 * dashboard; and the daily email quota, taken by EmailIntake.
 */
@Module({
  providers: [RequestLimiter, AuthFailureLimiter, DailyQuotaStore, UncheckedLimits],
  exports: [RequestLimiter, AuthFailureLimiter, DailyQuotaStore],
})
export class RateLimitModule {}
