import type { RedisClient } from './redis-connections';
import { MAX_SCANNED_PER_PAGE } from '../common/paging';
import { loadScript, scriptCommand, type ScriptCommand } from './scripts';

/** A member of a sorted set with its score: an item of a list, or a position in it. */
export interface SortedSetEntry {
  id: string;
  score: number;
}

/** A page of a list: up to `limit` items, and where the next page starts (undefined after the last). */
export interface Page<T> {
  items: T[];
  next?: SortedSetEntry;
}

/** What to page: the set, where to start, how to read each member's item and, for a filtered list, which to keep. */
export interface PageRequest<T> {
  key: string;
  limit: number;
  /** The position the page starts after (exclusive): the `next` of the page before. */
  after?: SortedSetEntry;
  /** The items of `entries`, in their order, in one round trip; undefined for a member whose item is gone. */
  load: (entries: readonly SortedSetEntry[]) => Promise<(T | undefined)[]>;
  /** Keeps only the items it accepts (a filtered list). */
  matches?: (item: T) => boolean;
}

/** Members read at once by a filtered page, which expects to pass over many: few round trips, small replies. */
const FILTERED_BATCH = 200;

type EntriesAfterArgs = [count: number] | [count: number, score: string, member: string];
const ENTRIES_AFTER = loadScript<[set: string], EntriesAfterArgs, string[]>(__dirname, 'entries-after.lua');

/**
 * The one pager of every list the API keeps in a sorted set (emails, dead letters, suppressions, webhook
 * deliveries): newest first, from an opaque position rather than an offset, so pages neither skip nor repeat
 * while items come and go. A page examines at most `maxScanned` members (MAX_SCANNED_PER_PAGE): a filter that
 * matches rarely, or a run of expired items, ends the page early with a `next` position where the scan
 * stopped, so each call costs bounded Redis work whatever the list holds. Members whose item is gone (expired)
 * are removed from the set on the way.
 */
export class SortedSetPager {
  private readonly entriesAfterScript: ScriptCommand<[set: string], EntriesAfterArgs, string[]>;

  constructor(
    private readonly redis: RedisClient,
    private readonly maxScanned = MAX_SCANNED_PER_PAGE,
  ) {
    this.entriesAfterScript = scriptCommand(redis, ENTRIES_AFTER);
  }

  /** Up to `count` members after the position `after` (exclusive), highest score first: one script call. */
  async entriesAfter(key: string, count: number, after?: SortedSetEntry): Promise<SortedSetEntry[]> {
    const raw = await this.entriesAfterScript(
      [key],
      after ? [count, String(after.score), after.id] : [count],
    );
    const entries: SortedSetEntry[] = [];
    for (let i = 0; i < raw.length; i += 2) entries.push({ id: raw[i]!, score: Number(raw[i + 1]) });
    return entries;
  }

  /**
   * One page of the list. It reads one item past `limit` to know whether another page follows; `next` is
   * then the position of its last item, or, when the scan bound ended the page, of the last member examined
   * (the page may then hold fewer than `limit` items, even none).
   */
  async page<T>(request: PageRequest<T>): Promise<Page<T>> {
    const { key, limit, load, matches } = request;
    const found: { item: T; entry: SortedSetEntry }[] = [];
    const gone: string[] = [];
    const finish = async (next?: SortedSetEntry): Promise<Page<T>> => {
      if (gone.length > 0) await this.redis.zrem(key, ...gone);
      const items = found.slice(0, limit).map(({ item }) => item);
      return next ? { items, next } : { items };
    };
    let position = request.after;
    let scanned = 0;
    for (;;) {
      const wanted = limit + 1 - found.length;
      const count = Math.min(this.maxScanned - scanned, matches ? Math.max(wanted, FILTERED_BATCH) : wanted);
      const entries = await this.entriesAfter(key, count, position);
      const loaded = entries.length > 0 ? await load(entries) : [];
      for (const [i, entry] of entries.entries()) {
        scanned += 1;
        const item = loaded[i];
        if (item === undefined) gone.push(entry.id);
        else if (!matches || matches(item)) {
          found.push({ item, entry });
          if (found.length > limit) return finish(found[limit - 1]!.entry);
        }
        if (scanned >= this.maxScanned) return finish(entry);
      }
      if (entries.length < count) return finish();
      position = entries[entries.length - 1];
    }
  }
}
