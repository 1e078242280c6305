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

describe('PartitionLayout (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  const logger = { setContext: jest.fn(), warn: jest.fn() } as unknown as AppLogger;
  const layout = (partitions: number) =>
    new PartitionLayout(
      { client: redis } as unknown as RedisConnections,
      new RedisKeys(PREFIX, partitions),
      { redis: { keyPrefix: PREFIX } } as AppConfig,
      logger,
    );
  const recorded = () => redis.get(new RedisKeys(PREFIX).partitionLayout());

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
    expect(await recorded()).toBeNull();
    await layout(6).check();
    expect(await recorded()).toBe('6');
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
});
