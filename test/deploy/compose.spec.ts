import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
}
type Compose = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };

const read = (file: string) => parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as Compose;
const APP_IMAGE = /^freeface-email-service[:@]/;

/** docker-compose.yml carries the app's safe defaults; docker-compose.dev.yml is the one way to relax them. */
describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');
  const apps = Object.entries(compose.services).filter(([, service]) => APP_IMAGE.test(service.image ?? ''));

  it('runs every app service in production', () => {
    expect(apps.map(([name]) => name).sort()).toEqual(['api', 'monitor', 'smtp', 'worker']);
    for (const [name, service] of apps)
      expect([name, service.environment?.ENVIRONMENT]).toEqual([name, 'production']);
  });

  it('gives Redis a password, and the app a REDIS_URL that carries it', () => {
    const redis = compose.services.redis!;
    expect(redis.entrypoint?.join(' ')).toContain('--requirepass "$$(cat /redis-auth/password)"');
    expect(redis.healthcheck?.test?.join(' ')).toContain('REDISCLI_AUTH=');
    for (const [name, service] of apps) {
      expect([name, service.environment?.REDIS_URL]).toEqual([name, undefined]);
      expect([name, service.environment?.REDIS_URL_FILE]).toEqual([name, '/redis-auth/redis-url']);
      expect([name, service.volumes]).toEqual([name, expect.arrayContaining(['redis-auth:/redis-auth:ro'])]);
    }
    const script = compose.services['redis-auth']!.command!.join('\n');
    expect(script).toContain("printf 'redis://:%s@redis:6379'");
    expect(script).toContain('/dev/urandom');
  });

  it('is put in development by docker-compose.dev.yml alone, and only that', () => {
    const development = read('docker-compose.dev.yml');
    expect(development.services).toEqual(
      Object.fromEntries(apps.map(([name]) => [name, { environment: { ENVIRONMENT: 'development' } }])),
    );
  });
});

/** The `sentinel` profile of docker-compose.yml, and docker-compose.sentinel.yml that points the app at it. */
describe('Redis with Sentinel (docker-compose.yml --profile sentinel, docker-compose.sentinel.yml)', () => {
  const compose = read('docker-compose.yml');
  const override = read('docker-compose.sentinel.yml');
  const services = compose.services;
  const inProfile = Object.keys(services).filter((name) => services[name]!.profiles?.includes('sentinel'));
  const sentinels = inProfile.filter((name) => /^redis-sentinel-\d+$/.test(name));
  const replicas = inProfile.filter((name) => name.startsWith('redis-replica-'));
  const apps = ['api', 'worker', 'smtp', 'monitor'];
  /** `redis` as it runs with the override on top (Compose replaces entrypoint, merges environment). */
  const primary: ComposeService = {
    ...services.redis,
    entrypoint: override.services.redis!.entrypoint,
    environment: { ...services.redis!.environment, ...override.services.redis!.environment },
  };
  const script = (service: ComposeService) => service.entrypoint!.join('\n');
  const monitor = /^\s*'sentinel monitor (\S+) (\S+) (\d+) (\d+)'/m;

  it('adds services only under the profile: the default stack is what it was', () => {
    expect([...inProfile].sort()).toEqual([
      'redis-replica-1',
      'redis-replica-2',
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
      'redis-sentinel-auth',
    ]);
    const always = Object.keys(services).filter((name) => !services[name]!.profiles);
    expect(always.sort()).toEqual(['api', 'mailcatcher', 'monitor', 'redis', 'redis-auth', 'smtp', 'worker']);
  });

  it('runs a primary and two replicas with AOF and noeviction, each on its own volume', () => {
    const nodes = { redis: primary, ...Object.fromEntries(replicas.map((name) => [name, services[name]!])) };
    expect(Object.keys(nodes)).toHaveLength(3);
    const dataVolumes = new Set<string>();
    for (const [name, node] of Object.entries(nodes)) {
      const options = node.command!.join(' ');
      expect([name, options]).toEqual([name, expect.stringContaining('--appendonly yes')]);
      expect([name, options]).toEqual([name, expect.stringContaining('--maxmemory-policy noeviction')]);
      const data = node.volumes!.find((volume) => volume.endsWith(':/data'))!;
      dataVolumes.add(data);
      expect(compose.volumes).toHaveProperty(data.split(':')[0]!);
      // Its own name, announced to the primary and so to the sentinels (not an address that changes).
      expect([name, node.environment?.ANNOUNCE]).toEqual([name, name]);
      expect(script(node)).toContain('--replica-announce-ip "$$ANNOUNCE"');
    }
    expect(dataVolumes.size).toBe(3);
    for (const name of replicas) expect(services[name]!.environment?.FIRST_REPLICAOF).toBe('redis 6379');
    expect(primary.environment?.FIRST_REPLICAOF).toBeUndefined();
  });

  it('gives every data node the password of redis-auth to serve and to replicate, with one script', () => {
    for (const node of [primary, ...replicas.map((name) => services[name]!)]) {
      expect(script(node)).toBe(script(services['redis-replica-1']!));
      expect(script(node)).toContain('password="$$(cat /redis-auth/password)"');
      expect(script(node)).toContain('--requirepass "$$password" --masterauth "$$password"');
      // The role lives in the data volume, where the sentinels' CONFIG REWRITE keeps it across restarts.
      expect(script(node)).toContain('redis-server /data/redis.conf');
    }
  });

  it('runs three sentinels on one primary with quorum 2, by name, with a password', () => {
    expect(sentinels).toHaveLength(3);
    const volumes = new Set<string>();
    for (const name of sentinels) {
      const sentinel = services[name]!;
      const text = script(sentinel);
      const [, master, host, port, quorum] = monitor.exec(text)!;
      expect([name, master, host, port, quorum]).toEqual([name, 'freeface', 'redis', '6379', '2']);
      expect(text).toContain("'sentinel resolve-hostnames yes'");
      expect(text).toContain("'sentinel announce-hostnames yes'");
      expect(text).toContain('--sentinel announce-ip "$$ANNOUNCE"');
      expect([name, sentinel.environment?.ANNOUNCE]).toEqual([name, name]);
      expect(text).toContain('--requirepass "$$(cat /redis-auth/sentinel-password)"');
      expect(text).toContain('--sentinel auth-pass freeface "$$(cat /redis-auth/password)"');
      expect(sentinel.healthcheck?.test?.join(' ')).toContain(
        'REDISCLI_AUTH="$$(cat /redis-auth/sentinel-password)"',
      );
      expect(sentinel.depends_on).toMatchObject({
        'redis-sentinel-auth': { condition: 'service_completed_successfully' },
      });
      volumes.add(sentinel.volumes!.find((volume) => volume.endsWith(':/data'))!);
    }
    expect(volumes.size).toBe(3);
  });

  it('points every app service at the sentinels, with both passwords as files and WAIT for one replica', () => {
    const auth = services['redis-sentinel-auth']!.command!.join('\n');
    const [, master] = monitor.exec(script(services['redis-sentinel-1']!))!;
    expect(Object.keys(override.services).sort()).toEqual([...apps, 'redis'].sort());
    for (const name of apps) {
      const environment = override.services[name]!.environment!;
      expect([name, environment]).toEqual([
        name,
        {
          REDIS_URL_FILE: '',
          REDIS_SENTINELS: sentinels.map((sentinel) => `${sentinel}:26379`).join(','),
          REDIS_SENTINEL_NAME: master,
          REDIS_PASSWORD_FILE: '/redis-auth/app-redis-password',
          REDIS_SENTINEL_PASSWORD_FILE: '/redis-auth/app-sentinel-password',
          REDIS_WAIT_REPLICAS: '1',
        },
      ]);
      expect(Number(environment.REDIS_WAIT_REPLICAS)).toBeLessThan(replicas.length);
      expect([name, services[name]!.volumes]).toEqual([
        name,
        expect.arrayContaining(['redis-auth:/redis-auth:ro']),
      ]);
      for (const sentinel of sentinels)
        expect(override.services[name]!.depends_on?.[sentinel]).toEqual({ condition: 'service_healthy' });
    }
    // The app's copies, made from the servers' files and readable by the app's user (node, 1000) alone.
    expect(auth).toContain('cp password app-redis-password');
    expect(auth).toContain('cp sentinel-password app-sentinel-password');
    expect(auth).toContain('chown 1000:1000 app-redis-password app-sentinel-password');
    expect(auth).toContain('/dev/urandom');
  });
});
