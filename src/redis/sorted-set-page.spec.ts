import fc from 'fast-check';
import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import {
  MIN_PER_SET,
  SortedSetPager,
  type Page,
  type PageRequest,
  type SortedSetEntry,
} from './sorted-set-page';

describe('SortedSetPager and entries-after.lua (real Redis)', () => {
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

  /** Every member's item is its id, upper-cased, unless it is in `gone`; `loads` counts each id read. */
  const itemsOf =
    (gone: ReadonlySet<string> = new Set(), loads = new Map<string, number>()) =>
    (entries: readonly SortedSetEntry[]) => {
      for (const { id } of entries) loads.set(id, (loads.get(id) ?? 0) + 1);
      return Promise.resolve(entries.map(({ id }) => (gone.has(id) ? undefined : id.toUpperCase())));
    };

  /** Every page, as a client following nextCursor would see them; `between` runs before each next page. */
  const walk = async (
    pager: SortedSetPager,
    request: Omit<PageRequest<string>, 'after'>,
    between: (page: Page<string>) => Promise<unknown> = () => Promise.resolve(),
  ) => {
    const pages: Page<string>[] = [];
    let after: SortedSetEntry | undefined;
    do {
      const page = await pager.page({ ...request, ...(after ? { after } : {}) });
      pages.push(page);
      if (pages.length > 10_000) throw new Error('paging did not end');
      await between(page);
      after = page.next;
    } while (after);
    return { pages, items: pages.flatMap((page) => page.items) };
  };

  /** The whole set, newest first, as Redis orders it (equal scores: descending member bytes). */
  const newestFirst = async (key: string) =>
    (await redis.zrange(key, 0, -1, 'REV')).map((id) => id.toUpperCase());

  it('pages newest first, with any number of members sharing a score, skipping and repeating none', async () => {
    // 130 members: runs of 1, 7 and 60 equal scores, longer than a page.
    const members: [number, string][] = [];
    for (let i = 0; i < 130; i++)
      members.push([i < 60 ? 5 : i < 67 ? 9 : 10 + i, `m${String(i).padStart(3, '0')}`]);
    await redis.zadd('set', ...members.flat());
    const expected = await newestFirst('set');
    const pager = new SortedSetPager(redis);
    for (const limit of [1, 3, 7, 20, 50, 200]) {
      const { items, pages } = await walk(pager, { keys: ['set'], limit, load: itemsOf() });
      expect([limit, items]).toEqual([limit, expected]);
      expect(pages.every((page) => page.items.length <= limit)).toBe(true);
      expect(pages.at(-1)!.next).toBeUndefined();
    }
  });

  it('walks a hundred members of one score in pages of twenty: five pages, then the end', async () => {
    const ids = Array.from(
      { length: 100 },
      (_, i) => `019b7a52-6c1e-7d3a-9f2b-${String(i).padStart(12, '0')}`,
    );
    await redis.zadd('set', ...ids.flatMap((id) => [1_700_000_000_000, id]));
    const { pages, items } = await walk(new SortedSetPager(redis), {
      keys: ['set'],
      limit: 20,
      load: itemsOf(),
    });
    expect(pages.map((page) => page.items.length)).toEqual([20, 20, 20, 20, 20]);
    expect(items).toEqual([...ids].reverse().map((id) => id.toUpperCase()));
  });

  it('keeps its place when the member at the position has been removed since, in a run of equal scores too', async () => {
    await redis.zadd('set', 1, 'a', 2, 'b', 2, 'c', 2, 'e', 2, 'g', 3, 'h');
    const pager = new SortedSetPager(redis);
    const first = await pager.page({ keys: ['set'], limit: 3, load: itemsOf() });
    expect(first).toEqual({ items: ['H', 'G', 'E'], next: { id: 'e', score: 2 } });
    await redis.zrem('set', 'e', 'g');
    const rest = await pager.page({ keys: ['set'], limit: 3, after: first.next!, load: itemsOf() });
    expect(rest).toEqual({ items: ['C', 'B', 'A'] });
    // A position between two members that were never there.
    expect((await pager.entriesAfter('set', 10, { score: 2, id: 'd' })).map((entry) => entry.id)).toEqual([
      'c',
      'b',
      'a',
    ]);
  });

  it('is not shifted by members added above its position between pages', async () => {
    await redis.zadd(
      'set',
      ...Array.from({ length: 30 }, (_, i) => [5, `m${String(i).padStart(2, '0')}`]).flat(),
    );
    const expected = await newestFirst('set');
    let added = 0;
    const { items } = await walk(
      new SortedSetPager(redis),
      { keys: ['set'], limit: 4, load: itemsOf() },
      () => redis.zadd('set', 5, `z${added}`, 9, `n${added++}`),
    );
    expect(items).toEqual(expected);
  });

  it('orders members of one score by their bytes, whatever characters they hold', async () => {
    const addresses = [
      'ana@example.com',
      'Ana@example.com',
      'ana-b@example.com',
      'ana.b@example.com',
      'ana_b@example.com',
      'anab@example.com',
      'ana@example.co',
      'åsa@example.com',
      'zoë@example.com',
      'a@b',
      'a',
    ];
    await redis.zadd('set', ...addresses.flatMap((address) => [7, address]));
    const expected = await redis.zrange('set', 0, -1, 'REV');
    const pager = new SortedSetPager(redis);
    // Each page's last member is removed before the next page, so every position is found by its bytes alone.
    const seen: string[] = [];
    let after: SortedSetEntry | undefined;
    do {
      const entries = await pager.entriesAfter('set', 1, after);
      seen.push(...entries.map((entry) => entry.id));
      after = entries[0];
      if (after) await redis.zrem('set', after.id);
    } while (after);
    expect(seen).toEqual(expected);
  });

  it('fills a page past expired items and removes them from the set', async () => {
    await redis.zadd('set', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
    const page = await new SortedSetPager(redis).page({
      keys: ['set'],
      limit: 2,
      load: itemsOf(new Set(['b', 'd'])),
    });
    expect(page).toEqual({ items: ['E', 'C'], next: { id: 'c', score: 3 } });
    // b was read too, as the item past the page (it tells whether another page follows).
    expect(await redis.zrange('set', 0, -1)).toEqual(['a', 'c', 'e']);
  });

  it('ends a filtered page at the scan bound with the position reached, and finds a rare match on a later page', async () => {
    // One match at the bottom, under 120 members that do not match, all of one score.
    await redis.zadd(
      'set',
      1,
      'match',
      ...Array.from({ length: 120 }, (_, i) => [1, `x${String(i).padStart(3, '0')}`]).flat(),
    );
    const loads = new Map<string, number>();
    const pager = new SortedSetPager(redis, 50);
    const { pages, items } = await walk(pager, {
      keys: ['set'],
      limit: 10,
      load: itemsOf(new Set(), loads),
      matches: (item) => item === 'MATCH',
    });
    expect(pages.map((page) => page.items)).toEqual([[], [], ['MATCH']]);
    expect(pages.map((page) => page.next?.id)).toEqual(['x070', 'x020', undefined]);
    expect(items).toEqual(['MATCH']);
    // Every member was read once, on exactly one page: the bound neither skips nor repeats.
    expect(loads.size).toBe(121);
    expect([...loads.values()].every((count) => count === 1)).toBe(true);
  });

  it('bounds an unfiltered page over expired items in the same way', async () => {
    await redis.zadd(
      'set',
      ...Array.from({ length: 30 }, (_, i) => [i, `m${String(i).padStart(2, '0')}`]).flat(),
    );
    const gone = new Set(Array.from({ length: 25 }, (_, i) => `m${String(i + 5).padStart(2, '0')}`));
    const pager = new SortedSetPager(redis, 10);
    const first = await pager.page({ keys: ['set'], limit: 5, load: itemsOf(gone) });
    expect(first).toEqual({ items: [], next: { id: 'm20', score: 20 } });
    const { items } = await walk(pager, { keys: ['set'], limit: 5, load: itemsOf(gone) });
    expect(items).toEqual(['M04', 'M03', 'M02', 'M01', 'M00']);
    expect(await redis.zcard('set')).toBe(5);
  });

  it('reads each round of a one-set list in one script call and removes gone members in one ZREM', async () => {
    await redis.zadd('set', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e');
    const pager = new SortedSetPager(redis);
    const reads = jest.spyOn(pager, 'entriesAfter');
    const removals = jest.spyOn(redis, 'zrem');
    await pager.page({ keys: ['set'], limit: 2, load: itemsOf(new Set(['d'])) });
    expect(reads.mock.calls).toEqual([
      ['set', 3, undefined],
      ['set', 1, { id: 'c', score: 3 }],
    ]);
    expect(removals.mock.calls).toEqual([['set', 'd']]);
    removals.mockRestore();
  });

  describe('a list split over several sets', () => {
    const parts = ['p0', 'p1', 'p2'];

    /** Each member into the set `part` names, and every member into `union`: the one set they stand for. */
    const addSplit = async (
      members: readonly [part: number, score: number, id: string][],
      keys: readonly string[] = parts,
    ) => {
      const pipeline = redis.pipeline();
      for (const [part, score, id] of members) {
        pipeline.zadd(keys[part]!, score, id);
        pipeline.zadd('union', score, id);
      }
      await pipeline.exec();
    };

    it('gives the pages one set holding every member would, with equal scores across the sets', async () => {
      // Runs of one score spread over the three sets; '\uFF21' sorts above '😀' by UTF-16 units, below by bytes.
      const members: [number, number, string][] = [
        [0, 9, 'k'],
        [1, 9, 'm'],
        [2, 9, 'l'],
        [2, 8, 'solo'],
        [0, 5, 'a'],
        [1, 5, 'b'],
        [2, 5, 'c'],
        [0, 5, 'Ana'],
        [1, 5, 'ana'],
        [2, 5, 'åsa'],
        [0, 5, '\uFF21'],
        [1, 5, '😀'],
        [2, 5, 'zoë'],
        [1, 4, 'x'],
        [1, 3, 'y'],
        [0, 2, 'z'],
        [2, 1, 'q'],
        [0, 1, 'r'],
        ...Array.from({ length: 12 }, (_, i): [number, number, string] => [i % 3, 0, `t${i % 4}${i}`]),
      ];
      await addSplit(members);
      const pager = new SortedSetPager(redis);
      const union = await newestFirst('union');
      expect(union.indexOf('😀')).toBeLessThan(union.indexOf('\uFF21'));
      for (const limit of [2, 3, 7]) {
        const split = await walk(pager, { keys: parts, limit, load: itemsOf() });
        const one = await walk(pager, { keys: ['union'], limit, load: itemsOf() });
        expect([limit, split.items]).toEqual([limit, union]);
        // The same pages, with the same `next` positions: a cursor means the same place in either.
        expect(split.pages).toEqual(one.pages);
      }
    });

    it('asks again from the merged position a set whose members were not all examined, and no more a set with none left', async () => {
      // p2 holds only v, gone; p0's c comes after p1's x, y, z.
      await addSplit([
        [2, 7, 'v'],
        [0, 6, 'a'],
        [1, 5, 'w'],
        [1, 4, 'x'],
        [1, 3, 'y'],
        [1, 2, 'z'],
        [0, 1, 'c'],
      ]);
      const pager = new SortedSetPager(redis);
      const reads = jest.spyOn(pager, 'entriesAfter');
      const page = await pager.page({ keys: parts, limit: 2, load: itemsOf(new Set(['v', 'a', 'w'])) });
      expect(page).toEqual({ items: ['X', 'Y'], next: { id: 'y', score: 3 } });
      // Round one merges v, a, w (all gone) out of v; a, c; w, x, y. Round two: p0 from w, though it sent c.
      expect(reads.mock.calls).toEqual([
        ['p0', 3, undefined],
        ['p1', 3, undefined],
        ['p2', 3, undefined],
        ['p0', 3, { id: 'w', score: 5 }],
        ['p1', 3, { id: 'w', score: 5 }],
      ]);
      // Each gone member left the set it was in, the others kept theirs.
      expect(await Promise.all(parts.map((key) => redis.zrange(key, 0, -1)))).toEqual([
        ['c'],
        ['z', 'y', 'x'],
        [],
      ]);
      expect((await pager.page({ keys: parts, limit: 2, after: page.next!, load: itemsOf() })).items).toEqual(
        ['Z', 'C'],
      );
    });

    it('ends a page at the scan bound counted over all the sets, and goes on from there', async () => {
      await addSplit([
        [0, 10, 'a'],
        [1, 9, 'b'],
        [2, 8, 'c'],
        [0, 7, 'd'],
        [1, 6, 'e'],
        [2, 5, 'f'],
        [0, 4, 'g'],
        [1, 3, 'h'],
        [2, 2, 'i'],
      ]);
      const loads = new Map<string, number>();
      const { pages } = await walk(new SortedSetPager(redis, 4), {
        keys: parts,
        limit: 3,
        load: itemsOf(new Set(['a', 'b', 'c', 'e']), loads),
      });
      expect(pages).toEqual([
        { items: ['D'], next: { id: 'd', score: 7 } },
        { items: ['F', 'G', 'H'], next: { id: 'h', score: 3 } },
        { items: ['I'] },
      ]);
      expect(loads.size).toBe(9);
      expect([...loads.values()].every((count) => count === 1)).toBe(true);
      expect(await Promise.all(parts.map((key) => redis.zrange(key, 0, -1)))).toEqual([
        ['g', 'd'],
        ['h'],
        ['i', 'f'],
      ]);
    });

    it('is not shifted by members added to any set above its position between pages', async () => {
      await addSplit(
        Array.from({ length: 30 }, (_, i): [number, number, string] => [
          i % 3,
          5,
          `m${String(i).padStart(2, '0')}`,
        ]),
      );
      const expected = await newestFirst('union');
      let added = 0;
      const { items } = await walk(
        new SortedSetPager(redis),
        { keys: parts, limit: 4, load: itemsOf() },
        () => Promise.all(parts.map((key) => redis.zadd(key, 5, `z${added}`, 9, `n${added++}`))),
      );
      expect(items).toEqual(expected);
    });

    it('reads over 16 sets about what a filtered page examines, not 16 filtered batches a round', async () => {
      const keys = Array.from({ length: 16 }, (_, set) => `s${set}`);
      // 6,000 members spread over the sets as ids hashed to partitions are (a fixed pseudo-random draw), scores
      // in runs of 7 across the sets; one in 400 matches the filter, so each page scans its bound.
      let seed = 7;
      const draw = () => (seed = (seed * 48_271) % 2_147_483_647);
      const members = Array.from({ length: 6_000 }, (_, i): [number, number, string] => [
        draw() % 16,
        Math.floor(i / 7),
        `m${String(i).padStart(4, '0')}${i % 400 === 0 ? 'x' : ''}`,
      ]);
      await addSplit(members, keys);
      const matches = (item: string) => item.endsWith('X');
      const expected = (await newestFirst('union')).filter(matches);
      const pager = new SortedSetPager(redis);
      const reads = jest.spyOn(pager, 'entriesAfter');
      let rounds = 0;
      const load = itemsOf();
      const pages: { read: number; rounds: number }[] = [];
      const { items } = await walk(
        pager,
        { keys, limit: 20, load: (entries) => (rounds++, load(entries)), matches },
        async () => {
          const sent = await Promise.all(reads.mock.results.map(({ value }) => value as Promise<unknown[]>));
          pages.push({ read: sent.reduce((sum, entries) => sum + entries.length, 0), rounds });
          reads.mockClear();
          rounds = 0;
        },
      );
      expect(items).toEqual(expected);
      expect(pages.map((page) => page.rounds > 0)).toEqual([true, true, true, true, true, true, false]);
      // A round reads at most its `count` (a filtered batch, 200) and half as much again, and one more per set
      // for rounding each share up, or MIN_PER_SET from each set when that is more; it read 16 × 200 when every
      // set was asked for all.
      const perRound = Math.max(300 + 16, 16 * MIN_PER_SET);
      expect(pages.filter((page) => page.read > page.rounds * perRound)).toEqual([]);
      // A page as a whole reads less than twice the 1,000 it examines (16,000 before).
      expect(pages.filter((page) => page.read > 2_000)).toEqual([]);
    });

    /**
     * Walks the split list and `union` with the same page size, bound, filter (every member whose item's first
     * code unit is a multiple of `every`; none with 1), gone members and churn, and checks the split walk gives
     * every match once, in order, in the same pages as `union` (same `next` positions), and leaves no gone
     * member in its set and every other in its own.
     */
    const expectUnionPages = async (options: {
      keys: readonly string[];
      members: readonly [part: number, score: number, id: string, isGone: boolean][];
      limit: number;
      bound: number;
      every: number;
      churn: boolean;
    }) => {
      const { keys, members, limit, bound, every, churn } = options;
      await redis.flushall();
      await addSplit(
        members.map(([part, score, id]) => [part, score, id]),
        keys,
      );
      const gone = new Set(members.filter(([, , , isGone]) => isGone).map(([, , id]) => id));
      // Unfiltered (every 1) too: a page then reads in several rounds when members are gone.
      const matches = every > 1 ? (item: string) => item.charCodeAt(0) % every === 0 : undefined;
      const expected = (await redis.zrange('union', 0, -1, 'REV'))
        .filter((id) => !gone.has(id))
        .map((id) => id.toUpperCase())
        .filter((item) => !matches || matches(item));
      const pager = new SortedSetPager(redis, bound);
      const removed = new Set<string>();
      // The same churn on both: the member at the position leaves, a newer one arrives (in a set by turn).
      const walkWithChurn = (walked: readonly string[]) => {
        let round = 0;
        return walk(
          pager,
          { keys: walked, limit, load: itemsOf(gone), ...(matches ? { matches } : {}) },
          async (page) => {
            if (!churn || !page.next) return;
            removed.add(page.next.id);
            await Promise.all(walked.map((key) => redis.zrem(key, page.next!.id)));
            await redis.zadd(walked[round % walked.length]!, 100, `new${round++}`);
          },
        );
      };
      const one = await walkWithChurn(['union']);
      const split = await walkWithChurn(keys);
      expect(split.items).toEqual(expected);
      expect(split.pages).toEqual(one.pages);
      const left = await Promise.all(keys.map((key) => redis.zrange(key, 0, -1)));
      expect(left.map((ids) => ids.filter((id) => !id.startsWith('new')).sort())).toEqual(
        keys.map((_, set) =>
          members
            .filter(([part, , id, isGone]) => part === set && !isGone && !removed.has(id))
            .map(([, , id]) => id)
            .sort(),
        ),
      );
    };

    it('gives the pages of the one set for any split, page size, bound, filter and gone members, while members come and go', async () => {
      const member = fc.tuple(
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 4 }),
        fc.stringMatching(/^[a-zA-Z0-9.@_-]{1,4}$/),
        fc.boolean(),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(member, { selector: ([, , id]) => id, maxLength: 60 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          (members, limit, bound, every, churn) =>
            expectUnionPages({ keys: parts, members, limit, bound, every, churn }),
        ),
        { numRuns: 100 },
      );
    });

    it('gives the pages of the one set over 8 and 20 sets of uneven sizes, each holding more than a round asks of it', async () => {
      // Up to 300 members, of 5 scores (long runs of a score across the sets), so that sets hold more than a
      // round asks of each and the merge must stop where a set's unread members could come first; `hot`
      // quarters of them in p0, the others spread at random (some sets empty, some large).
      const member = fc.tuple(
        fc.nat(),
        fc.integer({ min: 1, max: 5 }),
        fc.stringMatching(/^[a-zA-Z0-9.@_-]{1,5}$/),
        fc.boolean(),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(8, 20),
          fc.integer({ min: 0, max: 3 }),
          // size 'max': fast-check's default size would keep arrays to about ten members.
          fc.uniqueArray(member, { selector: ([, , id]) => id, maxLength: 300, size: 'max' }),
          fc.integer({ min: 1, max: 25 }),
          fc.integer({ min: 1, max: 150 }),
          fc.integer({ min: 1, max: 3 }),
          fc.boolean(),
          (sets, hot, members, limit, bound, every, churn) =>
            expectUnionPages({
              keys: Array.from({ length: sets }, (_, set) => `p${set}`),
              members: members.map(([n, score, id, isGone]) => [
                n % 4 < hot ? 0 : Math.floor(n / 4) % sets,
                score,
                id,
                isGone,
              ]),
              limit,
              bound,
              every,
              churn,
            }),
        ),
        { numRuns: 100 },
      );
    });
  });

  it('gives every match once, in order, for any set, page size, bound and filter, while members come and go', async () => {
    const member = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.stringMatching(/^[a-zA-Z0-9.@_-]{1,6}$/));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(member, { selector: ([, id]) => id, maxLength: 80 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        async (members, limit, bound, every, churn) => {
          await redis.flushall();
          if (members.length > 0) await redis.zadd('set', ...members.flatMap(([score, id]) => [score, id]));
          const matches = (item: string) => item.charCodeAt(0) % every === 0;
          const expected = (await newestFirst('set')).filter(matches);
          let round = 0;
          const { items, pages } = await walk(
            new SortedSetPager(redis, bound),
            { keys: ['set'], limit, load: itemsOf(), matches },
            // Churn: the member at the page's position is removed (it was examined on that page, so no match is
            // lost), and a newer member arrives above the position (after the walk began, so never listed).
            async (page) => {
              if (!churn || !page.next) return;
              await redis.zrem('set', page.next.id);
              await redis.zadd('set', 100, `new${round++}`);
            },
          );
          expect(items).toEqual(expected);
          expect(pages.every((page) => page.items.length <= limit)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });
});
