import { BullModule } from '@nestjs/bull';
import { Module } from '@nestjs/common';
import Bull, { type QueueOptions } from 'bull';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { EMAIL_QUEUES_OF_PARTITIONS, EmailQueue, type PartitionQueues } from './email-queue';
import { PartitionLayout } from './partition-layout';
import { EMAIL_QUEUES, PRIORITIES, WEBHOOK_QUEUE } from './queue-names';
import { WebhookQueue } from './webhook-queue';

/** Every Bull queue's options: the service's connections, and the lock settings of its workers. */
function queueOptions(config: AppConfig, redis: RedisConnections): QueueOptions {
  return {
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
  };
}

/**
 * The Bull queues and their producers: the webhook deliveries' (through @nestjs/bull), and the emails', one per
 * priority in each Redis partition (REDIS_PARTITIONS), made here because how many there are is a setting; each
 * partition's queues live under its own prefix, in the slot of its emails' records (RedisKeys.queuePrefix).
 */
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig, RedisConnections],
      useFactory: queueOptions,
    }),
    BullModule.registerQueue({ name: WEBHOOK_QUEUE }),
  ],
  providers: [
    {
      provide: EMAIL_QUEUES_OF_PARTITIONS,
      inject: [AppConfig, RedisConnections, RedisKeys],
      useFactory: (config: AppConfig, redis: RedisConnections, keys: RedisKeys): PartitionQueues[] => {
        const options = queueOptions(config, redis);
        return keys
          .partitionNumbers()
          .map(
            (partition) =>
              Object.fromEntries(
                PRIORITIES.map((priority) => [
                  priority,
                  new Bull(EMAIL_QUEUES[priority], { ...options, prefix: keys.queuePrefix(partition) }),
                ]),
              ) as PartitionQueues,
          );
      },
    },
    EmailQueue,
    WebhookQueue,
    PartitionLayout,
  ],
  exports: [EmailQueue, WebhookQueue, PartitionLayout],
})
export class QueueModule {}
