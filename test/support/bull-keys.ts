import type Redis from 'ioredis';
import { WEBHOOK_QUEUE } from '../../src/queue/queue-names';

export type QueuePriority = 'high' | 'medium' | 'low';
export const QUEUE_PRIORITIES: readonly QueuePriority[] = ['high', 'medium', 'low'];

/** A key of Bull's for one email queue (`id`, `wait`, `completed`…, or a job id), under the app's QUEUE_PREFIX. */
export const bullKey = (prefix: string, priority: QueuePriority, name: string): string =>
  `${prefix}:emails-${priority}:${name}`;

/**
 * Makes every job add fail for real, as Redis refusing Bull's keys would: Bull numbers each new job (INCR of the
 * queue's `id` key, even for a job with an id of its own) before it writes anything, so a counter of the wrong
 * type fails the add whole. Returns the way back.
 */
export async function breakJobAdds(redis: Redis, prefix: string): Promise<() => Promise<void>> {
  const keys = QUEUE_PRIORITIES.map((priority) => bullKey(prefix, priority, 'id'));
  for (const key of keys) await redis.del(key).then(() => redis.hset(key, 'wrong', 'type'));
  return async () => void (await redis.del(...keys));
}

/** Every key under the prefix that matches `pattern` (SCAN: for a test's own small Redis). */
export async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** Bull's hash of one webhook delivery's job (the job's id is the delivery's; it is dropped once finished). */
export const webhookJobKey = (prefix: string, deliveryId: string): string =>
  `${prefix}:${WEBHOOK_QUEUE}:${deliveryId}`;
