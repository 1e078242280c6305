import type { ChainableCommander } from 'ioredis';

/**
 * One change to counters kept in Redis: add to a hash field (the key then expiring after `expireSeconds`,
 * when given), raise a hash field to at least `max`, or add a member to a set.
 */
export type Count =
  | { key: string; field: string; by: number; expireSeconds?: number }
  | { key: string; field: string; max: number }
  | { key: string; member: string };

/** Writes a hash field's maximum (a script: Redis has no such command). */
export type WriteMax = (pipeline: ChainableCommander, key: string, field: string, value: number) => void;

/**
 * The same changes in fewer: additions to one field summed, maxima of one field reduced to the highest, each
 * set member once; in the order each first appeared. Counters add up in any order, so nothing is lost.
 */
export function tally(counts: readonly Count[]): Count[] {
  const merged = new Map<string, Count>();
  for (const count of counts) {
    const id =
      'member' in count
        ? `member\0${count.key}\0${count.member}`
        : `${'max' in count ? 'max' : 'by'}\0${count.key}\0${count.field}`;
    const seen = merged.get(id);
    if (!seen) merged.set(id, { ...count });
    else if ('by' in seen && 'by' in count) {
      seen.by += count.by;
      if (count.expireSeconds !== undefined) seen.expireSeconds = count.expireSeconds;
    } else if ('max' in seen && 'max' in count) seen.max = Math.max(seen.max, count.max);
  }
  return [...merged.values()];
}

/** Queues the commands that apply `counts`, added up first, on a pipeline. */
export function writeCounts(
  pipeline: ChainableCommander,
  counts: readonly Count[],
  writeMax: WriteMax,
): void {
  for (const count of tally(counts)) {
    if ('member' in count) pipeline.sadd(count.key, count.member);
    else if ('max' in count) writeMax(pipeline, count.key, count.field, count.max);
    else {
      pipeline.hincrby(count.key, count.field, count.by);
      if (count.expireSeconds !== undefined) pipeline.expire(count.key, count.expireSeconds);
    }
  }
}
