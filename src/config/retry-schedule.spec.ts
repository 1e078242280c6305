import { DEFAULT_WEBHOOK_RETRY_SCHEDULE, parseRetrySchedule } from './retry-schedule';

describe('parseRetrySchedule', () => {
  it('reads the documented default: seven retries over about 28 hours', () => {
    const delays = parseRetrySchedule(DEFAULT_WEBHOOK_RETRY_SCHEDULE);
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect((delays as number[]).reduce((a, b) => a + b) / 3_600_000).toBeCloseTo(27.6, 1);
  });

  it('takes every unit and ignores spaces and empty entries', () => {
    expect(parseRetrySchedule(' 250ms, 1s ,2m,,1h,1d ')).toEqual([250, 1000, 120_000, 3_600_000, 86_400_000]);
  });

  it('names what is wrong', () => {
    expect(parseRetrySchedule('')).toMatch(/at least one/);
    expect(parseRetrySchedule('5s,soon')).toMatch(/"soon" is not a duration/);
    expect(parseRetrySchedule('5')).toMatch(/not a duration/);
    expect(parseRetrySchedule('-5s')).toMatch(/not a duration/);
    expect(parseRetrySchedule('8d')).toMatch(/longer than 7 days/);
    expect(parseRetrySchedule(Array(21).fill('1s').join(','))).toMatch(/at most 20/);
  });
});
