import { lastMinutes, toMinuteSeries } from './minute-series';

describe('lastMinutes', () => {
  it('ends with the current minute, oldest first', () => {
    const now = Date.UTC(2026, 10, 26, 10, 30, 45);
    const minutes = lastMinutes(now, 60);
    expect(minutes).toHaveLength(60);
    expect(minutes[59]).toBe(Math.floor(now / 60_000));
    expect(minutes[0]).toBe(Math.floor(now / 60_000) - 59);
    expect(minutes.every((m, i) => i === 0 || m === minutes[i - 1]! + 1)).toBe(true);
  });

  it('uses the same bucket as the recorder at a minute boundary', () => {
    const boundary = Date.UTC(2026, 10, 26, 10, 31, 0);
    expect(lastMinutes(boundary, 1)).toEqual([boundary / 60_000]);
    expect(lastMinutes(boundary - 1, 1)).toEqual([boundary / 60_000 - 1]);
  });
});

describe('toMinuteSeries', () => {
  it('turns minute hashes into chart series with totals', () => {
    const minutes = [29_000_000, 29_000_001, 29_000_002];
    const series = toMinuteSeries(minutes, [['3', '1'], null, [null, '2']]);
    expect(series).toEqual({
      minutes: [29_000_000 * 60, 29_000_001 * 60, 29_000_002 * 60],
      sent: [3, 0, 0],
      failed: [1, 0, 2],
      totals: { sent: 3, failed: 3 },
    });
  });

  it('reads garbage and missing values as zero', () => {
    const series = toMinuteSeries([1, 2], [['x', '-4']]);
    expect(series.sent).toEqual([0, 0]);
    expect(series.failed).toEqual([0, 0]);
  });
});
