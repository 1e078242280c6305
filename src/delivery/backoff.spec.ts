import { RETRY_DELAY_CAP_MS, retryDelayMs } from './backoff';

const LOWEST = () => 0;
const HIGHEST = () => 0.999_999_999;
const MIDDLE = () => 0.5;

describe('retryDelayMs', () => {
  it('waits at least half of the base on the first retry', () => {
    expect(retryDelayMs(1, 2000, 60_000, LOWEST)).toBe(1000);
  });

  it('waits less than the whole base on the first retry', () => {
    expect(retryDelayMs(1, 2000, 60_000, HIGHEST)).toBe(1999);
  });

  it('puts the jitter in the upper half of the exponential delay', () => {
    expect(retryDelayMs(1, 2000, 60_000, MIDDLE)).toBe(1500);
    expect(retryDelayMs(3, 2000, 60_000, MIDDLE)).toBe(6000);
  });

  it('doubles the delay with each attempt', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(attempt, 2000, 1_000_000, LOWEST))).toEqual([
      1000, 2000, 4000, 8000, 16000,
    ]);
  });

  it('treats attempt 0 and below like the first attempt', () => {
    expect(retryDelayMs(0, 2000, 60_000, LOWEST)).toBe(1000);
    expect(retryDelayMs(-3, 2000, 60_000, LOWEST)).toBe(1000);
  });

  it('caps the exponential delay, so a late retry waits between half the cap and the cap', () => {
    expect(retryDelayMs(30, 1000, 60_000, LOWEST)).toBe(30_000);
    expect(retryDelayMs(30, 1000, 60_000, HIGHEST)).toBe(59_999);
  });

  it('stays within the cap even for absurd attempt numbers', () => {
    expect(retryDelayMs(10_000, 2000, RETRY_DELAY_CAP_MS, HIGHEST)).toBeLessThan(RETRY_DELAY_CAP_MS);
  });

  it('stays between half and all of the exponential delay for any random value', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const exponential = Math.min(RETRY_DELAY_CAP_MS, 2000 * 2 ** (attempt - 1));
      for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999]) {
        const delay = retryDelayMs(attempt, 2000, RETRY_DELAY_CAP_MS, () => r);
        expect(delay).toBeGreaterThanOrEqual(exponential / 2);
        expect(delay).toBeLessThan(exponential);
        expect(Number.isInteger(delay)).toBe(true);
      }
    }
  });

  it('is zero when the base is zero', () => {
    expect(retryDelayMs(3, 0, 60_000, HIGHEST)).toBe(0);
  });

  it('uses Math.random when no source is given and stays in bounds', () => {
    const delay = retryDelayMs(2, 2000, 60_000);
    expect(delay).toBeGreaterThanOrEqual(2000);
    expect(delay).toBeLessThan(4000);
  });

  it('caps at 15 minutes', () => {
    expect(RETRY_DELAY_CAP_MS).toBe(900_000);
  });
});
