import type { Queue } from 'bull';
import type Redis from 'ioredis';
import type { RedisKeys } from '../redis/redis-keys';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../webhooks/webhook-deliveries.store';
import { countPausedEndpoints } from '../webhooks/webhook-endpoint-gate';

/** Suppressions and outbound webhooks at a glance: what callers are told, and who is no longer mailed. */
export interface DeliveryEventFigures {
  suppressedAddresses: number;
  webhooks: number;
  /** Webhooks paused because they kept timing out (their deliveries held until resumed). */
  pausedWebhooks: number;
  /** Deliveries within the retention, over every webhook, by status. */
  deliveries: Record<DeliveryStatus, number>;
  /** Webhook jobs waiting to be sent now, and waiting for a retry. */
  queue: { waiting: number; delayed: number; active: number };
}

/** Read in two round trips: the webhook ids, then every count in one pipeline (with the queue's counts). */
export async function deliveryEventFigures(
  redis: Redis,
  keys: RedisKeys,
  webhookQueue: Queue,
): Promise<DeliveryEventFigures> {
  const [ids, counts] = await Promise.all([
    redis.zrange(keys.webhookEndpoints(), 0, -1),
    webhookQueue.getJobCounts(),
  ]);
  const pipeline = countPausedEndpoints(redis.pipeline().zcard(keys.suppressions()), keys);
  for (const id of ids)
    for (const status of DELIVERY_STATUSES) pipeline.zcard(keys.webhookDeliveries(id, status));
  const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return Number(value);
  });
  const deliveries = { pending: 0, succeeded: 0, failed: 0 };
  ids.forEach((_, i) =>
    DELIVERY_STATUSES.forEach((status, j) => {
      deliveries[status] += replies[2 + i * DELIVERY_STATUSES.length + j] ?? 0;
    }),
  );
  return {
    suppressedAddresses: replies[0] ?? 0,
    webhooks: ids.length,
    pausedWebhooks: replies[1] ?? 0,
    deliveries,
    queue: { waiting: counts.waiting, delayed: counts.delayed, active: counts.active },
  };
}
