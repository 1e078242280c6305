import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { retryDelayMs, RETRY_DELAY_CAP_MS } from '../delivery/backoff';
import { BACKOFF_STRATEGY, EmailQueue } from './email-queue';
import { EMAIL_QUEUES, PRIORITIES } from './queue-names';

@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig, RedisConnections],
      useFactory: (config: AppConfig, redis: RedisConnections) => ({
        prefix: config.redis.keyPrefix,
        createClient: (type) => redis.forBull(type),
        settings: {
          // A worker's claim on a job (renewed at half of it); a crashed worker's jobs return after it.
          lockDuration: config.delivery.jobLockMs,
          stalledInterval: config.delivery.jobLockMs,
          // A job whose worker died is put back, not failed: crashes must not lose email (at-least-once).
          maxStalledCount: 10,
          backoffStrategies: {
            [BACKOFF_STRATEGY]: (attemptsMade: number) =>
              retryDelayMs(attemptsMade, config.delivery.retryBackoffMs, RETRY_DELAY_CAP_MS),
          },
        },
      }),
    }),
    BullModule.registerQueue(...PRIORITIES.map((priority) => ({ name: EMAIL_QUEUES[priority] }))),
  ],
  providers: [EmailQueue],
  exports: [EmailQueue],
})
export class QueueModule {}
