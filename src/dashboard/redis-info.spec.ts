import { keyspaceKeys, parseRedisInfo, redisFigures } from './redis-info';

const INFO = [
  '# Server',
  'redis_version:7.0.15',
  'redis_mode:standalone',
  'uptime_in_seconds:86523',
  '',
  '# Clients',
  'connected_clients:7',
  '',
  '# Memory',
  'used_memory:1187624',
  'used_memory_human:1.13M',
  'used_memory_peak_human:2.05M',
  '',
  '# Stats',
  'instantaneous_ops_per_sec:42',
  '',
  '# Keyspace',
  'db0:keys=128,expires=40,avg_ttl=3600000',
  'db3:keys=5,expires=0,avg_ttl=0',
  '',
].join('\r\n');

describe('parseRedisInfo', () => {
  it('reads field:value lines and skips headings and blank lines', () => {
    const info = parseRedisInfo(INFO);
    expect(info.get('redis_version')).toBe('7.0.15');
    expect(info.get('used_memory_human')).toBe('1.13M');
    expect(info.has('# Server')).toBe(false);
    expect([...info.keys()]).not.toContain('');
  });

  it('keeps colons in values and reads LF line ends', () => {
    const info = parseRedisInfo('executable:/usr/bin/redis-server\nconfig_file:C:\\redis.conf\n');
    expect(info.get('config_file')).toBe('C:\\redis.conf');
  });
});

describe('keyspaceKeys', () => {
  it('reads the key count of each database', () => {
    expect(keyspaceKeys(parseRedisInfo(INFO))).toEqual(
      new Map([
        [0, 128],
        [3, 5],
      ]),
    );
  });
});

describe('redisFigures', () => {
  it('picks the figures the dashboard shows', () => {
    expect(redisFigures(INFO, 130)).toEqual({
      version: '7.0.15',
      uptimeSeconds: 86523,
      usedMemoryHuman: '1.13M',
      usedMemoryPeakHuman: '2.05M',
      opsPerSecond: 42,
      connectedClients: 7,
      keys: 130,
    });
  });

  it('falls back to the keyspace of database 0 without DBSIZE, and 0 keys when it has none', () => {
    expect(redisFigures(INFO).keys).toBe(128);
    expect(redisFigures('redis_version:7.2.0\r\n').keys).toBe(0);
  });

  it('leaves out what INFO does not say', () => {
    expect(redisFigures('')).toEqual({
      version: null,
      uptimeSeconds: null,
      usedMemoryHuman: null,
      usedMemoryPeakHuman: null,
      opsPerSecond: null,
      connectedClients: null,
      keys: null,
    });
  });
});
