import Redis from 'ioredis';
import { waitUntil } from '../../test/support/ports';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import { EmailEvents } from '../events/email-events';
import type { AppLogger } from '../logging/app-logger';
import type { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { AuditStore } from './audit.store';
import { AuditWriter } from './audit.writer';

const keys = new RedisKeys('{audit-writer-test}');
const config = { email: { auditRetentionDays: 30 } } as AppConfig;

describe('AuditWriter (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let audit: AuditStore;
  let events: EmailEvents;
  let writer: AuditWriter;
  let warn: jest.Mock;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });
  beforeEach(async () => {
    await redis.flushall();
    audit = new AuditStore({ client: redis } as unknown as RedisConnections, keys, config);
    events = new EmailEvents();
    warn = jest.fn();
    const logger = { setContext: () => undefined, warn } as unknown as AppLogger;
    const metrics = { followAuditFailures: () => undefined } as unknown as PrometheusMetrics;
    writer = new AuditWriter(events, audit, logger, metrics);
    writer.onModuleInit();
  });
  afterEach(() => writer.onApplicationShutdown());
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const eventsOf = async (emailId: string) => (await audit.ofEmail(emailId)).map((entry) => entry.event);

  it('writes each event of an email, in the order they happened', async () => {
    events.emit({ event: 'accepted', emailId: 'e1', service: 'billing' });
    events.emit({ event: 'attempt', emailId: 'e1', service: 'billing' });
    events.emit({ event: 'sent', emailId: 'e1', service: 'billing' });
    await waitUntil(async () => (await eventsOf('e1')).length === 3, 5_000, 'the trail of e1');
    expect(await eventsOf('e1')).toEqual(['accepted', 'attempt', 'sent']);
    expect(writer.failedWrites).toBe(0);
  });

  it('counts and logs a failed write, and never writes it again', async () => {
    const stream = keys.auditStream('billing');
    await redis.set(stream, 'not a stream');
    events.emit({ event: 'accepted', emailId: 'e1', service: 'billing' });
    await waitUntil(() => writer.failedWrites === 1, 5_000, 'the failed write');
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ entries: 1, failedWrites: 1, reason: expect.stringContaining('WRONGTYPE') }),
      'audit write failed',
    );

    await redis.del(stream);
    events.emit({ event: 'sent', emailId: 'e1', service: 'billing' });
    // Writes go one at a time, in order: once the later event is in, the failed one is not coming.
    await waitUntil(async () => (await eventsOf('e1')).length > 0, 5_000, 'the later event');
    expect(await eventsOf('e1')).toEqual(['sent']);
    expect(writer.failedWrites).toBe(1);
  });

  it('writes what is waiting when the process shuts down', async () => {
    events.emit({ event: 'accepted', emailId: 'e2', service: 'billing' });
    await writer.onApplicationShutdown();
    expect(await eventsOf('e2')).toEqual(['accepted']);
  });
});
