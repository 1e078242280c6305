import type { ClusterOptions, RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config';
import type { RedisEndpoint } from '../config/redis-topology';

/** How to open one connection: ioredis's options for a server (by URL, or found through Sentinel) or a cluster. */
export type ConnectionSettings =
  | { readonly mode: 'server'; readonly url?: string; readonly options: RedisOptions }
  | { readonly mode: 'cluster'; readonly nodes: readonly RedisEndpoint[]; readonly options: ClusterOptions };

/** Reconnect forever, but never wait more than 2 s between tries: Redis coming back must be noticed quickly. */
export const retryStrategy = (times: number): number => Math.min(100 * times, 2000);

/**
 * After a failover a connection can still reach the old primary, now a replica that refuses writes: drop it
 * and connect again (Sentinel then names the new primary). The failed command is not sent again: its caller
 * answers 503 and the client retries, which keeps accepting at-most-once per request.
 */
const reconnectOnReadOnly = (error: Error): 1 | false => (error.message.startsWith('READONLY') ? 1 : false);

/**
 * The settings of a connection named `connectionName` with `overrides` (offline queue, retries per request)
 * on top of the topology's own: where to connect, credentials, TLS with the configured CA, and the reconnect
 * policy. A cluster takes the per-node options as `redisOptions` and the same limits on its own requests.
 */
export function connectionSettings(
  redis: AppConfig['redis'],
  connectionName: string,
  overrides: RedisOptions,
): ConnectionSettings {
  const { topology } = redis;
  const base: RedisOptions = { connectionName, connectTimeout: 5000, retryStrategy, ...overrides };
  const tls = (enabled: boolean) => (enabled ? { tls: redis.tlsCa ? { ca: redis.tlsCa } : {} } : {});
  const credentials = (t: { username?: string; password?: string }) => ({
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
  });

  switch (topology.mode) {
    case 'single':
      return {
        mode: 'server',
        url: topology.url,
        options: { ...base, ...tls(topology.url.startsWith('rediss:') || !!redis.tlsCa) },
      };
    case 'sentinel':
      return {
        mode: 'server',
        options: {
          ...base,
          sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
          name: topology.name,
          role: 'master',
          ...credentials(topology),
          ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
          ...tls(topology.tls),
          ...(topology.tls
            ? { enableTLSForSentinelMode: true, sentinelTLS: redis.tlsCa ? { ca: redis.tlsCa } : {} }
            : {}),
          sentinelRetryStrategy: retryStrategy,
          // No `failoverDetector`: when its "+switch-master" arrives while the connection is already reconnecting
          // (the old primary died), ioredis 5 aborts that reconnect and ends the connection for good, and the
          // process would answer 503 until restarted (seen in test/topologies/sentinel-failover). A killed
          // primary closes the socket anyway, and a demoted one answers READONLY, handled below.
          reconnectOnError: reconnectOnReadOnly,
        },
      };
    case 'cluster': {
      const { enableOfflineQueue, enableReadyCheck, ...perNode } = base;
      return {
        mode: 'cluster',
        nodes: topology.nodes,
        options: {
          redisOptions: { ...perNode, ...credentials(topology), ...tls(topology.tls) },
          clusterRetryStrategy: retryStrategy,
          ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
          ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
          // While slots move or a primary fails over, retry a request briefly instead of failing it at once.
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          retryDelayOnTryAgain: 100,
          slotsRefreshTimeout: 2000,
        },
      };
    }
  }
}
