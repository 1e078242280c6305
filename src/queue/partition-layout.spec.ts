import Bull from 'bull';
import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { PartitionLayout, PartitionLayoutError } from './partition-layout';
import { EMAIL_QUEUES } from './queue-names';

const PREFIX = '{layout-test}';

describe('PartitionLayout and take-partition-layout.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  const logger = { setContext: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as AppLogger;
  const layout = (partitions: number) =>
    new PartitionLayout(
      { client: redis } as unknown as RedisConnections,
      new RedisKeys(PREFIX, partitions),
      { redis: { keyPrefix: PREFIX } } as AppConfig,
      logger,
    );
  const recorded = () => redis.hget(new RedisKeys(PREFIX).partitionLayout(), 'current');

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('leaves a single Redis as it was, and records a new number of partitions while nothing is in the old', async () => {
    await layout(1).check();
    expect(await recorded()).toBe('1');
    await layout(6).check();
    expect(await recorded()).toBe('6');
    expect(await redis.hget(new RedisKeys(PREFIX).partitionLayout(), 'previous')).toBe('1');
    await layout(6).check();
    await layout(1).check();
    expect(await recorded()).toBe('1');
  });

  it('refuses another number while the layout in place holds an unfinished email or a dead letter', async () => {
    await layout(3).check();
    const three = new RedisKeys(PREFIX, 3);
    await redis.zadd(three.unfinishedEmails(2), 1, 'a');
    await redis.zadd(three.deadLetters(1), 1, 'b');
    await expect(layout(1).check()).rejects.toThrow(
      new PartitionLayoutError(1, 3, { unfinished: 1, deadLetters: 1, jobs: 0 }),
    );
    await expect(layout(1).onApplicationBootstrap()).rejects.toBeInstanceOf(PartitionLayoutError);
    expect(await recorded()).toBe('3');
    await layout(3).check();
  });

  it("refuses another number while a partition's queue holds a waiting or delayed job", async () => {
    const one = new RedisKeys(PREFIX, 1);
    const queue = new Bull(EMAIL_QUEUES.low, server.url, { prefix: one.queuePrefix(0) });
    await queue.add({}, { jobId: 'x', delay: 60_000 });
    await queue.add({}, { jobId: 'y' });
    await expect(layout(4).contents(one)).resolves.toEqual({ unfinished: 0, deadLetters: 0, jobs: 2 });
    await expect(layout(4).check()).rejects.toThrow(
      /REDIS_PARTITIONS=4, but Redis holds emails in 1 partition/,
    );
    await queue.empty();
    await (await queue.getJob('x'))?.remove();
    await layout(4).check();
    expect(await recorded()).toBe('4');
    await queue.close();
  });

  it('stops a running process when another process changes the number', async () => {
    const running = layout(2);
    const stopped = new Promise<void>((resolve) => (running.stopProcess = resolve));
    await running.onApplicationBootstrap();
    await layout(5).check();
    // Within the watch's interval (5 s).
    await stopped;
    running.onApplicationShutdown();
    expect(await recorded()).toBe('5');
  }, 10_000);

  it('lets one of two processes that start together with different numbers record its own first', async () => {
    await Promise.all([layout(3).check(), layout(4).check()]);
    expect(['3', '4']).toContain(await recorded());
  });

  it('starts while Redis does not answer, not ready until it can check, then checked', async () => {
    await server.pause();
    const offline = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
    offline.on('error', () => undefined);
    const starting = new PartitionLayout(
      { client: offline } as unknown as RedisConnections,
      new RedisKeys(PREFIX, 2),
      { redis: { keyPrefix: PREFIX } } as AppConfig,
      logger,
    );
    await starting.onApplicationBootstrap();
    expect(starting.isChecked).toBe(false);
    await server.resume();
    const deadline = Date.now() + 10_000;
    while (!starting.isChecked && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(starting.isChecked).toBe(true);
    starting.onApplicationShutdown();
    offline.disconnect();
    // The suite's own client reconnects by itself, its commands queued meanwhile.
    expect(await recorded()).toBe('2');
  }, 15_000);
});
