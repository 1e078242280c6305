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

/** What to page: the sets, where to start, how to read each member's item and, for a filtered list, which to keep. */
export interface PageRequest<T> {
  /**
   * The sorted sets holding the list (one, or one per partition), paged as one set holding all their members
   * would be. A member is in one of them only: one in two would be listed twice.
   */
  keys: readonly string[];
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

/**
 * The fewest members a round asks of each set of a split list (unless the round examines fewer). A round
 * examines only down to the highest of the last members sent by the sets that sent all they were asked for,
 * so the set that runs out of its share first decides how far it gets: over 64 sets holding members in random
 * order (as ids hashed to partitions are), 1 each stops it after the first member, 4 each after about 50, 8
 * each after about 190 (over 120 in 19 rounds of 20). With fewer, a page of a few dozen (a share of 1 over 64
 * sets) would take a round per member or so, each one script call per set; 8 short entries a set cost little.
 */
export const MIN_PER_SET = 8;

/**
 * Each set is asked for this much more than an even share of a round: the first set to run out of its share
 * decides how far the round gets, and a little margin saves whole rounds (each one script call per set) for
 * few more members read (BENCHMARKS.md has the measurement).
 */
const SHARE_MARGIN = 1.5;

type EntriesAfterArgs = [count: number] | [count: number, score: string, member: string];
const ENTRIES_AFTER = loadScript<[set: string], EntriesAfterArgs, string[]>(__dirname, 'entries-after.lua');

/**
 * The one pager of every list the API keeps in a sorted set (emails, dead letters, suppressions, webhook
 * deliveries): newest first, from an opaque position rather than an offset, so pages neither skip nor repeat
 * while items come and go. A page examines at most `maxScanned` members (MAX_SCANNED_PER_PAGE): a filter that
 * matches rarely, or a run of expired items, ends the page early with a `next` position where the scan
 * stopped, so each call costs bounded Redis work whatever the list holds. Members whose item is gone (expired)
 * are removed from the set they are in on the way.
 *
 * A list split over several sets (one per partition, each in its own cluster slot, so no script reads two) is
 * merged here. A round examines up to `count` members (what the page still needs, or a filtered batch), but
 * asks each set that may hold more for only its share of them after the position (`count` over the sets and
 * half as much again, at least MIN_PER_SET), in parallel, one script call per set, so a round reads about `count` members (at most
 * MIN_PER_SET a set when that is more), not `count` from each set. It merges them in the order one set would
 * keep them, and examines them only down to the cut: the highest of the last members sent by the sets that
 * sent their whole share (those may hold unread members right after it; a set that sent less has sent all it
 * holds). That set sent its whole share before the cut, so each round examines at least one member. The
 * members sent but not examined are not counted against `maxScanned`, and the next round asks their set again
 * from the position the merge reached (not from the last member it sent), so none is skipped. A page thus
 * examines at most `maxScanned` members in all. With one set, a round is one script call for `count`, as it
 * was before lists were split.
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
    const { keys, limit, load, matches } = request;
    const found: { item: T; entry: SortedSetEntry }[] = [];
    const gone = new Map<string, string[]>(); // by set
    const finish = async (next?: SortedSetEntry): Promise<Page<T>> => {
      // One call per set: a pipeline or MULTI over sets in different cluster slots is refused.
      await Promise.all([...gone].map(([key, ids]) => this.redis.zrem(key, ...ids)));
      const items = found.slice(0, limit).map(({ item }) => item);
      return next ? { items, next } : { items };
    };
    let position = request.after;
    let scanned = 0;
    let open = keys;
    for (;;) {
      const wanted = limit + 1 - found.length;
      const count = Math.min(this.maxScanned - scanned, matches ? Math.max(wanted, FILTERED_BATCH) : wanted);
      const share = Math.min(count, Math.max(MIN_PER_SET, Math.ceil((SHARE_MARGIN * count) / open.length)));
      const reads = await Promise.all(open.map((key) => this.entriesAfter(key, share, position)));
      const round = mergeNewestFirst(open, reads, share, count);
      const entries = round.map(({ entry }) => entry);
      const loaded = entries.length > 0 ? await load(entries) : [];
      for (const [i, { entry, key }] of round.entries()) {
        scanned += 1;
        const item = loaded[i];
        if (item === undefined) {
          if (!gone.has(key)) gone.set(key, []);
          gone.get(key)!.push(entry.id);
        } else if (!matches || matches(item)) {
          found.push({ item, entry });
          if (found.length > limit) return finish(found[limit - 1]!.entry);
        }
        if (scanned >= this.maxScanned) return finish(entry);
      }
      // Asked again: every set that may hold more after the position, having sent all it was asked for or
      // more than was examined. One that sent fewer, all examined, has nothing left; when none is left, the
      // list has ended.
      open = open.filter((key, set) => {
        const sent = reads[set]!.length;
        return sent === share || round.filter((taken) => taken.key === key).length < sent;
      });
      if (open.length === 0) return finish();
      position = entries[entries.length - 1];
    }
  }
}

/**
 * The first entries of the union of the sets after the position they were read from, up to `count`, in the
 * order one set holding them all would keep, each with the set it came from. Each set sent its first `share`
 * (highest score first), or all it holds when fewer: a member a set did not send sorts after the last it sent,
 * so the merge is the union's order only down to the highest of the last entries of the sets that sent a whole
 * `share` (that entry included), and stops there. That set's whole `share` comes before it: when any set sent
 * entries, at least one is returned.
 */
function mergeNewestFirst(
  keys: readonly string[],
  reads: readonly SortedSetEntry[][],
  share: number,
  count: number,
): { entry: SortedSetEntry; key: string }[] {
  const tagged = reads.flatMap((entries, set) => entries.map((entry) => ({ entry, key: keys[set]! })));
  if (reads.length > 1) tagged.sort((a, b) => newestFirst(a.entry, b.entry));
  let cut: SortedSetEntry | undefined;
  for (const entries of reads) {
    const last = entries[share - 1];
    if (last && (!cut || newestFirst(last, cut) < 0)) cut = last;
  }
  const known = cut ? tagged.findIndex(({ entry }) => entry === cut) + 1 : tagged.length;
  return tagged.slice(0, Math.min(known, count));
}

/**
 * The order of ZRANGE … REV: higher score first, then, for equal scores, higher member bytes first. JavaScript
 * compares strings by UTF-16 code units, which is not byte order beyond the BMP, hence the buffers.
 */
function newestFirst(a: SortedSetEntry, b: SortedSetEntry): number {
  return b.score - a.score || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id));
}
