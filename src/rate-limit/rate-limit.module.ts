import { Module } from '@nestjs/common';
import { DailyQuotaStore } from './daily-quota.store';
import { RequestLimiter } from './request-limiter';

/**
 * The API's limits on its callers (docs/RATE-LIMITS.md): the per-service API rate limit and the slow-down of
 * failed authentication, applied by ServiceTokenGuard, and the daily email quota, taken by EmailsService.
 */
@Module({ providers: [RequestLimiter, DailyQuotaStore], exports: [RequestLimiter, DailyQuotaStore] })
export class RateLimitModule {}
