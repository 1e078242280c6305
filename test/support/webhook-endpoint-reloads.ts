import { RedisKeys } from '../../src/redis/redis-keys';
import { waitUntil } from './ports';
import type { PrivateRedis } from './private-redis';

/**
 * Runs `change` (creating or deleting webhooks) and resolves with its result once `processes` app processes
 * have reloaded the webhook endpoints after it.
 *
 * Every api and worker process keeps the endpoints in memory and reloads them when their version number in
 * Redis changes (it looks once a second): an event that happens before a process reloaded is not sent to a new
 * webhook. The reloads are watched in Redis's command stream (MONITOR), which is in the order Redis ran the
 * commands: each change INCRs the version; after the last of them, a process that reloads reads the version
 * and then the endpoints' sorted set whole, on its one command connection. (The dashboard reads that set too,
 * but never the version first.)
 */
export async function afterEndpointsReload<T>(
  redis: PrivateRedis,
  keyPrefix: string,
  processes: number,
  change: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const keys = new RedisKeys(keyPrefix);
  const [versionKey, endpointsKey] = [keys.webhookEndpointsVersion(), keys.webhookEndpoints()];
  const client = redis.client();
  const monitor = await client.monitor();
  let changesSeen = 0;
  const readTheVersion = new Set<string>();
  const reloaded = new Set<string>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const [command = '', key, ...rest] = args;
    const name = command.toLowerCase();
    if (name === 'incr' && key === versionKey) {
      changesSeen++;
      readTheVersion.clear();
      reloaded.clear();
    } else if (name === 'get' && key === versionKey) {
      readTheVersion.add(source);
    } else if (name === 'zrange' && key === endpointsKey && rest.join(' ') === '0 -1') {
      if (readTheVersion.has(source)) reloaded.add(source);
    }
  });
  try {
    const versionBefore = Number(await client.get(versionKey));
    const result = await change();
    const changes = Number(await client.get(versionKey)) - versionBefore;
    if (changes === 0) throw new Error('the change changed no webhook endpoint');
    await waitUntil(
      () => changesSeen >= changes && reloaded.size >= processes,
      timeoutMs,
      `${processes} processes to reload the webhook endpoints`,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message} (${changesSeen} of ${changes} changes seen; ${reloaded.size} reloaded)`,
      );
    });
    return result;
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
}
