import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { EmailQueue } from './email-queue';
import { EMAIL_QUEUES, PRIORITIES, WEBHOOK_QUEUE } from './queue-names';
import { WebhookQueue } from './webhook-queue';

/** The Bull queues (emails by priority, webhook deliveries) and their producers. */
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
          // Past this many, Bull fails it; the reconciler then queues its email again.
          maxStalledCount: 10,
        },
      }),
    }),
    BullModule.registerQueue(...PRIORITIES.map((priority) => ({ name: EMAIL_QUEUES[priority] })), {
      name: WEBHOOK_QUEUE,
    }),
  ],
  providers: [EmailQueue, WebhookQueue],
  exports: [EmailQueue, WebhookQueue],
})
export class QueueModule {}
