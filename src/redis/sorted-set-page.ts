import type Redis from 'ioredis';

export interface SortedSetEntry {
  id: string;
  score: number;
}

/**
 * Up to `limit` members of a sorted set, highest score first, strictly after the position `after` (a
 * previous page's last member). Members with equal scores come in descending order of id, as Redis keeps
 * them; any number of them may share a score (many items made in the same millisecond) without a page being
 * skipped or repeated, and the position holds even when its own member has since been removed.
 */
export async function pageSortedSet(
  redis: Redis,
  key: string,
  limit: number,
  after?: SortedSetEntry,
): Promise<SortedSetEntry[]> {
  const found: SortedSetEntry[] = [];
  const batchSize = limit + 20;
  let max = after?.score;
  let offset = 0;
  while (found.length < limit) {
    const raw = await redis.zrange(
      key,
      max === undefined ? '+inf' : String(max),
      '-inf',
      'BYSCORE',
      'REV',
      'LIMIT',
      offset,
      batchSize,
      'WITHSCORES',
    );
    const entries: SortedSetEntry[] = [];
    for (let i = 0; i < raw.length; i += 2) entries.push({ id: raw[i]!, score: Number(raw[i + 1]) });
    for (const entry of entries) {
      if (after && entry.score === after.score && entry.id >= after.id) continue;
      if (found.length < limit) found.push(entry);
    }
    if (entries.length < batchSize) break;
    const lastScore = entries[entries.length - 1]!.score;
    const atLastScore = entries.filter((entry) => entry.score === lastScore).length;
    offset = lastScore === max ? offset + atLastScore : atLastScore;
    max = lastScore;
  }
  return found;
}

/**
 * A page of the items a sorted set indexes, read through `load` (one round trip per batch: undefined for a
 * member whose item has expired). Expired members are skipped, so a page is short only at the end of the
 * list, and returned in `gone` for the caller to remove from the set.
 */
export async function pageItems<T>(
  redis: Redis,
  key: string,
  limit: number,
  after: SortedSetEntry | undefined,
  load: (entries: readonly SortedSetEntry[]) => Promise<(T | undefined)[]>,
): Promise<{ items: T[]; gone: string[] }> {
  const items: T[] = [];
  const gone: string[] = [];
  let position = after;
  while (items.length < limit) {
    const wanted = limit - items.length;
    const entries = await pageSortedSet(redis, key, wanted, position);
    if (entries.length === 0) break;
    const loaded = await load(entries);
    entries.forEach((entry, i) => {
      const item = loaded[i];
      if (item === undefined) gone.push(entry.id);
      else items.push(item);
    });
    if (entries.length < wanted) break;
    position = entries[entries.length - 1];
  }
  return { items, gone };
}
