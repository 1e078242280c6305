import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { EmailEvents } from '../events/email-events';
import type { AppLogger } from '../logging/app-logger';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { ServiceMetricsRecorder } from './service-metrics.recorder';

const keys = new RedisKeys('{service-metrics-test}');

describe('ServiceMetricsRecorder and hash-max.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  /** One replica's recorder; its counts reach Redis when it shuts down. */
  const replica = () =>
    new ServiceMetricsRecorder(
      { client: redis } as unknown as RedisConnections,
      keys,
      { subscribe: () => undefined } as unknown as EmailEvents,
      { setContext: () => undefined, debug: () => undefined } as unknown as AppLogger,
    );

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("sums every replica's counts, and keeps the latest call whichever replica wrote last", async () => {
    const [first, second] = [replica(), replica()];
    first.recordCall('billing', 'POST /api/v1/emails', 5000);
    first.recordCall('billing', 'GET /api/v1/emails/{id}', 4000);
    second.recordCall('billing', 'POST /api/v1/emails', 3000);
    second.recordCall('alerts', 'POST /api/v1/emails', 1000);
    first.onEmailEvent({ event: 'sent', emailId: 'e1', service: 'billing', at: 120_000 });
    second.onEmailEvent({ event: 'failed', emailId: 'e2', service: 'billing', at: 120_001 });
    await first.onApplicationShutdown();
    await second.onApplicationShutdown();

    const figures = await first.figures();
    expect(Object.keys(figures)).toEqual(['alerts', 'billing']);
    expect(figures['billing']).toEqual({
      calls: 3,
      emailsAccepted: 0,
      emailsSent: 1,
      emailsFailed: 1,
      emailsDead: 0,
      endpoints: { 'POST /api/v1/emails': 2, 'GET /api/v1/emails/{id}': 1 },
      lastCallAt: new Date(5000).toISOString(),
    });
    expect(await second.figures(['alerts', 'nobody'])).toEqual({
      alerts: expect.objectContaining({ calls: 1, lastCallAt: new Date(1000).toISOString() }),
      nobody: expect.objectContaining({ calls: 0, lastCallAt: null }),
    });
    expect(await first.minuteCounts([1, 2, 3])).toEqual([
      [null, null],
      ['1', '1'],
      [null, null],
    ]);
  });
});
