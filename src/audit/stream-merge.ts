/** Where an entry is: its stream id and the service whose stream holds it. */
export interface StreamPosition {
  id: string;
  service: string;
}

export interface StreamRow {
  id: string;
  value: string;
}

/** One service's stream, read newest first a batch at a time; an empty batch means it is exhausted. */
export interface MergeSource {
  service: string;
  next(): Promise<StreamRow[]>;
}

/** Orders stream ids (`<ms>-<seq>`) as Redis does: by time, then by sequence. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split('-').map(Number);
  const [bMs = 0, bSeq = 0] = b.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/**
 * The rows of several services' streams as one sequence, newest first: by stream id, and for equal ids (one
 * script call writes several streams in the same millisecond) by service, descending. That order is total,
 * so a page can end anywhere and the next resume exactly after it.
 */
export async function* mergeNewestFirst(
  sources: readonly MergeSource[],
): AsyncGenerator<StreamPosition & StreamRow> {
  const open = await Promise.all(sources.map(async (source) => ({ source, rows: await source.next() })));
  const newer = (a: StreamPosition, b: StreamPosition) =>
    compareStreamIds(a.id, b.id) || (a.service > b.service ? 1 : a.service < b.service ? -1 : 0);
  for (;;) {
    let pick: (typeof open)[number] | undefined;
    for (const candidate of open) {
      const head = candidate.rows[0];
      if (!head) continue;
      const best = pick?.rows[0];
      if (
        !best ||
        newer({ ...head, service: candidate.source.service }, { ...best, service: pick!.source.service }) > 0
      )
        pick = candidate;
    }
    if (!pick) return;
    const row = pick.rows.shift()!;
    yield { ...row, service: pick.source.service };
    if (pick.rows.length === 0) pick.rows = await pick.source.next();
  }
}
