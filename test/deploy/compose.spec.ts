import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
}
type Compose = { services: Record<string, ComposeService> };

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
