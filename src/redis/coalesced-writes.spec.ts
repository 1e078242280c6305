import Redis from 'ioredis';
import type { Socket } from 'node:net';
import { PrivateRedis } from '../../test/support/private-redis';
import { coalesceWrites } from './coalesced-writes';

describe('coalesceWrites', () => {
  let server: PrivateRedis;
  let redis: Redis;
  /** How many times the socket handed data to the kernel (one `write` or one `writev` each). */
  let socketWrites = 0;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url, { lazyConnect: true });
    coalesceWrites(redis);
    redis.on('connect', () => {
      const socket = redis.stream as Socket & {
        _write: (...args: unknown[]) => void;
        _writev: (...args: unknown[]) => void;
      };
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method].bind(socket);
        socket[method] = (...args: unknown[]) => {
          socketWrites++;
          original(...args);
        };
      }
    });
    await redis.connect();
  });

  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  it('sends the commands of one turn in one socket write, in the order they were issued', async () => {
    await redis.ping();
    socketWrites = 0;
    const replies = await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => redis.rpush('order', String(i))),
      redis.eval("return redis.call('LRANGE', KEYS[1], 0, -1)", 1, 'order'),
    ]);
    expect(socketWrites).toBe(1);
    expect(replies.at(-1)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('does not hold a command back past the turn it was issued in', async () => {
    socketWrites = 0;
    await redis.set('a', '1');
    await redis.set('b', '2');
    expect(socketWrites).toBe(2);
    expect(await redis.mget('a', 'b')).toEqual(['1', '2']);
  });

  it('keeps coalescing after a reconnect (a new socket)', async () => {
    redis.disconnect(true);
    await new Promise((resolve) => redis.once('ready', resolve));
    socketWrites = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => redis.set(`k${i}`, String(i))));
    expect(socketWrites).toBe(1);
  });
});
