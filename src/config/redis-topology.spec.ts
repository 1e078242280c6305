import { parseRedisTopology, type RedisTopologyEnv } from './redis-topology';

function parse(env: RedisTopologyEnv) {
  const errors: string[] = [];
  return { topology: parseRedisTopology(env, errors), errors };
}

describe('parseRedisTopology', () => {
  it('is the local server when nothing is set', () => {
    expect(parse({})).toEqual({ topology: { mode: 'single', url: 'redis://localhost:6379' }, errors: [] });
  });

  it('takes one server by URL, TLS by its scheme', () => {
    expect(parse({ REDIS_URL: 'rediss://:pw@cache:6380/1' }).topology).toEqual({
      mode: 'single',
      url: 'rediss://:pw@cache:6380/1',
    });
    expect(parse({ REDIS_URL: 'http://cache' }).errors).toEqual([
      'REDIS_URL: must be a redis:// or rediss:// URL',
    ]);
  });

  it("reads sentinels with their default port, IPv6 in brackets, and the data nodes' credentials", () => {
    expect(
      parse({
        REDIS_SENTINELS: 's1:26380, s2 ,[::1]:26381',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_SENTINEL_PASSWORD: 'sp',
        REDIS_USERNAME: 'freeface',
        REDIS_PASSWORD: 'dp',
      }),
    ).toEqual({
      topology: {
        mode: 'sentinel',
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26381 },
        ],
        name: 'mymaster',
        sentinelPassword: 'sp',
        username: 'freeface',
        password: 'dp',
        tls: false,
      },
      errors: [],
    });
  });

  it('turns TLS on for rediss:// entries or a CA file', () => {
    expect(parse({ REDIS_CLUSTER_NODES: 'rediss://n1:6379,rediss://n2:6379' }).topology).toMatchObject({
      mode: 'cluster',
      nodes: [
        { host: 'n1', port: 6379 },
        { host: 'n2', port: 6379 },
      ],
      tls: true,
    });
    expect(parse({ REDIS_CLUSTER_NODES: 'n1', REDIS_TLS_CA_FILE: '/ca.pem' }).topology).toMatchObject({
      tls: true,
    });
    expect(parse({ REDIS_CLUSTER_NODES: 'rediss://n1,redis://n2' }).errors).toEqual([
      'REDIS_CLUSTER_NODES: use redis:// or rediss:// for every entry, not both',
    ]);
  });

  it('refuses two topologies at once, a Sentinel without its name, and stray settings', () => {
    expect(parse({ REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'b:1' }).errors).toEqual([
      'REDIS_URL, REDIS_CLUSTER_NODES: set only one of them (one server, Sentinel, or a cluster)',
    ]);
    expect(parse({ REDIS_SENTINELS: 's1' }).errors).toEqual([
      'REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS (the primary set name, e.g. mymaster)',
    ]);
    expect(parse({ REDIS_SENTINEL_NAME: 'mymaster' }).errors).toEqual([
      'REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD: apply only with REDIS_SENTINELS',
    ]);
    expect(parse({ REDIS_URL: 'redis://a', REDIS_PASSWORD: 'p' }).errors).toEqual([
      'REDIS_USERNAME, REDIS_PASSWORD: with REDIS_URL, put the credentials in the URL',
    ]);
  });

  it('names a bad entry, but never echoes one that carries credentials', () => {
    const { errors } = parse({ REDIS_CLUSTER_NODES: 'n1:99999,redis://:hunter2@n2:6379,,' });
    expect(errors).toEqual([
      'REDIS_CLUSTER_NODES: "n1:99999" is not host:port',
      'REDIS_CLUSTER_NODES: credentials go in REDIS_USERNAME and REDIS_PASSWORD, not in the entries',
    ]);
    expect(parse({ REDIS_CLUSTER_NODES: ' , ' }).errors).toEqual([
      'REDIS_CLUSTER_NODES: name at least one host:port',
    ]);
  });
});
