/** A Redis server or sentinel to connect to. */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Where FreeFace's Redis is, and how to reach it: one server by URL (`REDIS_URL`), a primary found through
 * Sentinel (`REDIS_SENTINELS`), or a Redis Cluster (`REDIS_CLUSTER_NODES`). In the last two, the data nodes'
 * credentials are `REDIS_USERNAME`/`REDIS_PASSWORD` and TLS is chosen by `rediss://` entries (or a CA file).
 */
export type RedisTopology =
  | { readonly mode: 'single'; readonly url: string }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly RedisEndpoint[];
      readonly name: string;
      readonly sentinelPassword?: string;
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    }
  | {
      readonly mode: 'cluster';
      readonly nodes: readonly RedisEndpoint[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

export interface RedisTopologyEnv {
  readonly REDIS_URL?: string;
  readonly REDIS_SENTINELS?: string;
  readonly REDIS_SENTINEL_NAME?: string;
  readonly REDIS_SENTINEL_PASSWORD?: string;
  readonly REDIS_CLUSTER_NODES?: string;
  readonly REDIS_USERNAME?: string;
  readonly REDIS_PASSWORD?: string;
  readonly REDIS_TLS_CA_FILE?: string;
}

export const DEFAULT_REDIS_URL = 'redis://localhost:6379';

/**
 * Reads the topology from the raw (unset means absent) variables; pushes a message per mistake. Exactly one
 * of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES may be set; none means the local default URL.
 */
export function parseRedisTopology(env: RedisTopologyEnv, errors: string[]): RedisTopology {
  const chosen = (['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const).filter(
    (name) => env[name],
  );
  if (chosen.length > 1) {
    errors.push(`${chosen.join(', ')}: set only one of them (one server, Sentinel, or a cluster)`);
    return { mode: 'single', url: DEFAULT_REDIS_URL };
  }
  const credentials = {
    ...(env.REDIS_USERNAME ? { username: env.REDIS_USERNAME } : {}),
    ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
  };
  if (env.REDIS_SENTINELS) {
    const sentinels = parseEndpoints('REDIS_SENTINELS', env.REDIS_SENTINELS, 26379, errors);
    if (!env.REDIS_SENTINEL_NAME)
      errors.push(
        'REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS (the primary set name, e.g. mymaster)',
      );
    return {
      mode: 'sentinel',
      sentinels: sentinels.endpoints,
      name: env.REDIS_SENTINEL_NAME ?? '',
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
      ...credentials,
      tls: sentinels.tls || !!env.REDIS_TLS_CA_FILE,
    };
  }
  if (env.REDIS_SENTINEL_NAME || env.REDIS_SENTINEL_PASSWORD)
    errors.push('REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD: apply only with REDIS_SENTINELS');
  if (env.REDIS_CLUSTER_NODES) {
    const nodes = parseEndpoints('REDIS_CLUSTER_NODES', env.REDIS_CLUSTER_NODES, 6379, errors);
    return {
      mode: 'cluster',
      nodes: nodes.endpoints,
      ...credentials,
      tls: nodes.tls || !!env.REDIS_TLS_CA_FILE,
    };
  }
  if (env.REDIS_USERNAME || env.REDIS_PASSWORD)
    errors.push('REDIS_USERNAME, REDIS_PASSWORD: with REDIS_URL, put the credentials in the URL');
  const url = env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\/\S+$/.test(url)) errors.push('REDIS_URL: must be a redis:// or rediss:// URL');
  return { mode: 'single', url };
}

/**
 * `host:port,host:port` or `redis://host:port,…`, `rediss://…` for TLS (all entries alike). IPv6 hosts are
 * bracketed, as in URLs: `[::1]:26379`.
 */
function parseEndpoints(
  name: string,
  value: string,
  defaultPort: number,
  errors: string[],
): { endpoints: RedisEndpoint[]; tls: boolean } {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const schemes = new Set(entries.map((entry) => /^(rediss?):\/\//.exec(entry)?.[1] ?? 'redis'));
  if (schemes.size > 1) errors.push(`${name}: use redis:// or rediss:// for every entry, not both`);
  const endpoints: RedisEndpoint[] = [];
  for (const entry of entries) {
    if (entry.includes('@')) {
      errors.push(`${name}: credentials go in REDIS_USERNAME and REDIS_PASSWORD, not in the entries`);
      continue;
    }
    const match = /^(?:rediss?:\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(entry);
    const port = match?.[2] ? Number(match[2]) : defaultPort;
    if (!match || port < 1 || port > 65_535) {
      errors.push(`${name}: "${entry}" is not host:port`);
      continue;
    }
    endpoints.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  if (entries.length === 0) errors.push(`${name}: name at least one host:port`);
  return { endpoints, tls: schemes.has('rediss') };
}
