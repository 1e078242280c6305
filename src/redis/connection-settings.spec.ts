import type { AppConfig } from '../config/app-config';
import { connectionSettings } from './connection-settings';

const redis = (topology: AppConfig['redis']['topology'], tlsCa?: string): AppConfig['redis'] => ({
  topology,
  ...(tlsCa ? { tlsCa } : {}),
  keyPrefix: '{freeface}',
  partitions: 1,
  waitReplicas: 0,
});
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('connectionSettings', () => {
  it('connects one server by its URL, TLS by the scheme with the configured CA', () => {
    const plain = connectionSettings(
      redis({ mode: 'single', url: 'redis://cache:6379' }),
      'freeface-client',
      {
        enableOfflineQueue: false,
      },
    );
    expect(plain).toMatchObject({ mode: 'server', url: 'redis://cache:6379' });
    expect(plain.options).toMatchObject({ connectionName: 'freeface-client', enableOfflineQueue: false });
    expect(plain.options).not.toHaveProperty('tls');
    const tls = connectionSettings(redis({ mode: 'single', url: 'rediss://cache:6380' }, CA), 'c', {});
    expect(tls.options).toMatchObject({ tls: { ca: CA } });
  });

  it("finds Sentinel's primary, with both passwords, and reconnects on READONLY without resending", () => {
    const settings = connectionSettings(
      redis(
        {
          mode: 'sentinel',
          sentinels: [{ host: 's1', port: 26379 }],
          name: 'mymaster',
          sentinelPassword: 'sp',
          password: 'dp',
          tls: true,
        },
        CA,
      ),
      'freeface-bclient',
      { maxRetriesPerRequest: null },
    );
    expect(settings.mode).toBe('server');
    const options = settings.options as Record<string, unknown> & { reconnectOnError: (e: Error) => unknown };
    expect(options).toMatchObject({
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'mymaster',
      role: 'master',
      password: 'dp',
      sentinelPassword: 'sp',
      tls: { ca: CA },
      sentinelTLS: { ca: CA },
      enableTLSForSentinelMode: true,
      maxRetriesPerRequest: null,
    });
    expect(options).not.toHaveProperty('failoverDetector');
    expect(options.reconnectOnError(new Error("READONLY You can't write against a read only replica."))).toBe(
      1,
    );
    expect(options.reconnectOnError(new Error('ERR unknown command'))).toBe(false);
  });

  it('gives a cluster the per-node options Bull checks for its blocking connections', () => {
    const settings = connectionSettings(
      redis({ mode: 'cluster', nodes: [{ host: 'n1', port: 6379 }], password: 'dp', tls: false }),
      'freeface-bclient',
      { maxRetriesPerRequest: null, enableReadyCheck: false },
    );
    expect(settings).toMatchObject({
      mode: 'cluster',
      nodes: [{ host: 'n1', port: 6379 }],
      options: {
        enableReadyCheck: false,
        redisOptions: { maxRetriesPerRequest: null, password: 'dp', connectionName: 'freeface-bclient' },
      },
    });
    const client = connectionSettings(
      redis({ mode: 'cluster', nodes: [{ host: 'n1', port: 6379 }], tls: false }),
      'freeface-client',
      { enableOfflineQueue: false },
    );
    expect(client.options).toMatchObject({ enableOfflineQueue: false });
    expect((client.options as { redisOptions: object }).redisOptions).not.toHaveProperty(
      'enableOfflineQueue',
    );
  });
});
