import Redis from 'ioredis';
import { waitUntil } from '../../test/support/ports';
import { PrivateRedis } from '../../test/support/private-redis';
import { EmailEvents } from '../events/email-events';
import type { AppLogger } from '../logging/app-logger';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { ServiceMetricsRecorder } from './service-metrics.recorder';

const keys = new RedisKeys('{metrics-test}');
const readKeys = new RedisKeys('{service-metrics-test}');

describe('ServiceMetricsRecorder (real Redis)', () => {
  let server: PrivateRedis;
  let inspect: Redis;
  const clients: Redis[] = [];
  const recorders: ServiceMetricsRecorder[] = [];

  /** A replica's recorder, on a connection set up as the service's own (no offline queue: fails at once). */
  function replica() {
    const client = new Redis(server.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    });
    clients.push(client);
    const debug = jest.fn();
    const logger = { setContext: () => undefined, debug, warn: jest.fn() } as unknown as AppLogger;
    const events = new EmailEvents();
    const recorder = new ServiceMetricsRecorder(
      { client } as unknown as RedisConnections,
      keys,
      events,
      logger,
    );
    recorder.onModuleInit();
    recorders.push(recorder);
    return { recorder, events, client, debug };
  }

  const figures = (service: string) => inspect.hgetall(keys.serviceMetrics(service));

  beforeAll(async () => {
    server = await PrivateRedis.start();
    inspect = server.client();
  });
  beforeEach(() => inspect.flushall());
  afterEach(async () => {
    await Promise.all(recorders.splice(0).map((r) => r.onApplicationShutdown()));
    clients.splice(0).forEach((c) => c.disconnect());
  });
  afterAll(async () => {
    inspect.disconnect();
    await server.stop();
  });

  it("adds up every replica's counts in Redis, keeping the latest call", async () => {
    const a = replica();
    const b = replica();
    a.recorder.recordCall('billing', 'POST /api/v1/emails', 2_000);
    a.recorder.recordCall('billing', 'POST /api/v1/emails', 1_000);
    b.recorder.recordCall('billing', 'GET /api/v1/emails', 1_500);
    b.events.emit({ event: 'accepted', emailId: 'e1', service: 'billing' });
    b.events.emit({ event: 'sent', emailId: 'e1', service: 'billing', at: 60_000 * 3 });
    a.events.emit({ event: 'failed', emailId: 'e2', service: 'sign-up', at: 60_000 * 3 });

    await waitUntil(
      async () =>
        (await figures('billing'))['emailsSent'] === '1' && (await figures('billing'))['calls'] === '3',
      5_000,
      'the counts of both replicas in Redis',
    );
    expect(await figures('billing')).toEqual({
      calls: '3',
      'endpoint:POST /api/v1/emails': '2',
      'endpoint:GET /api/v1/emails': '1',
      lastCallAt: '2000',
      emailsAccepted: '1',
      emailsSent: '1',
    });
    await waitUntil(async () => (await figures('sign-up'))['emailsFailed'] === '1', 5_000, 'sign-up counted');
    expect((await inspect.smembers(keys.serviceMetricsIndex())).sort()).toEqual(['billing', 'sign-up']);
    expect(await inspect.hgetall(keys.minuteStats(3))).toEqual({ sent: '1', failed: '1' });
    expect(await inspect.ttl(keys.minuteStats(3))).toBeGreaterThan(7000);
  });

  it('keeps the counts while Redis is away and writes each once when it is back', async () => {
    const { recorder, client, debug } = replica();
    await waitUntil(() => client.status === 'ready', 5_000, 'the connection');
    await server.pause();
    recorder.recordCall('billing', 'POST /api/v1/emails', 1_000);
    recorder.recordCall('billing', 'POST /api/v1/emails', 3_000);
    await waitUntil(
      () => debug.mock.calls.some(([, message]) => message === 'metrics flush postponed'),
      5_000,
      'a failed write',
    );
    recorder.recordCall('billing', 'POST /api/v1/emails', 2_000);
    await server.resume();

    await waitUntil(async () => (await figures('billing'))['calls'] !== undefined, 10_000, 'the counts');
    expect(await figures('billing')).toEqual({
      calls: '3',
      'endpoint:POST /api/v1/emails': '3',
      lastCallAt: '3000',
    });
    expect(await inspect.smembers(keys.serviceMetricsIndex())).toEqual(['billing']);
  });

  it('writes what is waiting when the process shuts down', async () => {
    const { recorder, client } = replica();
    await waitUntil(() => client.status === 'ready', 5_000, 'the connection');
    recorder.recordCall('billing', 'POST /api/v1/emails', 1_000);
    await recorder.onApplicationShutdown();
    expect((await figures('billing'))['calls']).toBe('1');
  });
});

describe('ServiceMetricsRecorder figures and hash-max.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  /** One replica's recorder; its counts reach Redis when it shuts down. */
  const replica = () =>
    new ServiceMetricsRecorder(
      { client: redis } as unknown as RedisConnections,
      readKeys,
      new EmailEvents(),
      { setContext: () => undefined, debug: () => undefined, warn: () => undefined } as unknown as AppLogger,
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
