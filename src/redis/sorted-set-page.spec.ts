import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { pageItems, pageSortedSet, type SortedSetEntry } from './sorted-set-page';

describe('sorted set paging (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });
  beforeEach(() => redis.flushall());
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  /** Every member, page by page, as a client following nextCursor would see them. */
  const walk = async (key: string, limit: number) => {
    const seen: string[] = [];
    let after: SortedSetEntry | undefined;
    for (let pages = 0; pages < 1000; pages++) {
      const page = await pageSortedSet(redis, key, limit, after);
      seen.push(...page.map((entry) => entry.id));
      if (page.length < limit) return seen;
      after = page[page.length - 1];
    }
    throw new Error('paging did not end');
  };

  it('pages newest first, with any number of members sharing a score, skipping and repeating none', async () => {
    // 130 members: runs of 1, 7 and 60 equal scores, longer than a page and than a batch.
    const members: [number, string][] = [];
    for (let i = 0; i < 130; i++)
      members.push([i < 60 ? 5 : i < 67 ? 9 : 10 + i, `m${String(i).padStart(3, '0')}`]);
    await redis.zadd('set', ...members.flat());
    const expected = await redis.zrange('set', 0, -1, 'REV');
    for (const limit of [1, 3, 7, 50, 200])
      expect([limit, await walk('set', limit)]).toEqual([limit, expected]);
  });

  it('keeps its place when the last member of a page has been removed since', async () => {
    await redis.zadd('set', 1, 'a', 2, 'b', 2, 'c', 3, 'd');
    const first = await pageSortedSet(redis, 'set', 2);
    expect(first.map((entry) => entry.id)).toEqual(['d', 'c']);
    await redis.zrem('set', 'c');
    expect((await pageSortedSet(redis, 'set', 2, first[1])).map((entry) => entry.id)).toEqual(['b', 'a']);
  });

  it('fills a page past expired items and names them', async () => {
    await redis.zadd('set', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
    const alive = new Set(['a', 'c', 'e']);
    const page = await pageItems(redis, 'set', 2, undefined, (entries) =>
      Promise.resolve(entries.map((entry) => (alive.has(entry.id) ? entry.id.toUpperCase() : undefined))),
    );
    expect(page).toEqual({ items: ['E', 'C'], gone: ['d'] });
  });
});
