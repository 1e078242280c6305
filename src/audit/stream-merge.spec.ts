import { compareStreamIds, mergeNewestFirst, type MergeSource, type StreamRow } from './stream-merge';

/** A source over fixed rows (given newest first), served `batch` at a time. */
function source(service: string, ids: string[], batch = 2): MergeSource & { reads: number } {
  const rows: StreamRow[] = ids.map((id) => ({ id, value: `${service}@${id}` }));
  const result = {
    service,
    reads: 0,
    next: () => {
      result.reads++;
      return Promise.resolve(rows.splice(0, batch));
    },
  };
  return result;
}

async function collect(sources: MergeSource[]): Promise<string[]> {
  const out: string[] = [];
  for await (const row of mergeNewestFirst(sources)) out.push(`${row.service}@${row.id}`);
  return out;
}

describe('compareStreamIds', () => {
  it('orders by time, then by sequence, numerically', () => {
    expect(compareStreamIds('10-0', '9-5')).toBeGreaterThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-3', '10-3')).toBe(0);
  });
});

describe('mergeNewestFirst', () => {
  it('interleaves streams newest first, equal ids by service descending', async () => {
    const merged = await collect([
      source('billing', ['30-0', '20-0', '10-1']),
      source('sign-up', ['30-0', '20-1', '10-0']),
      source('alerts', ['25-0']),
    ]);
    expect(merged).toEqual([
      'sign-up@30-0',
      'billing@30-0',
      'alerts@25-0',
      'sign-up@20-1',
      'billing@20-0',
      'billing@10-1',
      'sign-up@10-0',
    ]);
  });

  it('reads a stream again only when its batch is used up, and stops when the caller does', async () => {
    const busy = source('billing', ['9-0', '8-0', '7-0', '6-0', '5-0', '4-0']);
    const rows = mergeNewestFirst([busy]);
    await rows.next();
    await rows.next();
    expect(busy.reads).toBe(1);
    await rows.next();
    expect(busy.reads).toBe(2);
    await rows.return(undefined);
    expect(busy.reads).toBe(2);
  });

  it('yields nothing for no streams or empty ones', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect([source('billing', [])])).toEqual([]);
  });
});
