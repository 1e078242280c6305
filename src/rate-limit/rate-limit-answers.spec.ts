import {
  addressRefused,
  apiRateLimited,
  dailyQuotaReached,
  msUntilNextUtcDay,
  rateLimitHeaders,
  utcDay,
  wholeSeconds,
} from './rate-limit-answers';

const limit = { tokensPerMs: 0.0005, burst: 30, text: '30/m' };

describe('wholeSeconds', () => {
  it('rounds up, and never says 0', () => {
    expect(wholeSeconds(0)).toBe(1);
    expect(wholeSeconds(1)).toBe(1);
    expect(wholeSeconds(1000)).toBe(1);
    expect(wholeSeconds(1001)).toBe(2);
    expect(wholeSeconds(59_999)).toBe(60);
  });
});

describe('rateLimitHeaders', () => {
  it('gives the bucket size, the whole calls left and the seconds until it is full', () => {
    expect(rateLimitHeaders(limit, 12.7, 34_500)).toEqual({
      'ratelimit-limit': '30',
      'ratelimit-remaining': '12',
      'ratelimit-reset': '35',
    });
  });
});

describe('apiRateLimited', () => {
  it('is a 429 with Retry-After and the RateLimit headers at zero', () => {
    const problem = apiRateLimited(limit, 1500);
    expect(problem.getStatus()).toBe(429);
    expect(problem.problemType).toBe('rate-limited');
    expect(problem.headers).toEqual({
      'retry-after': '2',
      'ratelimit-limit': '30',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '2',
    });
    expect(problem.detail).toBe("This service's API rate limit (30/m) is reached; retry after 2 s.");
  });
});

describe('addressRefused', () => {
  it('is a 429 with the seconds left in the window, and nothing about the token', () => {
    const problem = addressRefused(42_001);
    expect(problem.getStatus()).toBe(429);
    expect(problem.headers).toEqual({ 'retry-after': '43' });
    expect(problem.detail).toBe('Too many failed authentications from this address; retry after 43 s.');
  });
});

describe('dailyQuotaReached', () => {
  const now = Date.parse('2026-05-01T23:00:00.250Z');

  it('says the quota is reached, with Retry-After until midnight UTC', () => {
    const problem = dailyQuotaReached(100, 100, 1, now);
    expect(problem.getStatus()).toBe(429);
    expect(problem.problemType).toBe('rate-limited');
    expect(problem.headers).toEqual({ 'retry-after': '3600' });
    expect(problem.detail).toBe(
      'The daily quota of 100 emails is reached (100 accepted today, UTC); nothing was accepted. ' +
        'The quota resets at 00:00 UTC.',
    );
  });

  it('says when a request of many emails would go over it', () => {
    expect(dailyQuotaReached(100, 95, 10, now).detail).toMatch(
      /^These 10 emails would exceed the daily quota of 100 emails \(95 accepted today, UTC\)/,
    );
  });
});

describe('utcDay and msUntilNextUtcDay', () => {
  it('names the UTC day, whatever the local time zone', () => {
    expect(utcDay(Date.parse('2026-05-01T23:59:59.999Z'))).toBe('2026-05-01');
    expect(utcDay(Date.parse('2026-05-02T00:00:00.000Z'))).toBe('2026-05-02');
  });

  it('counts the time to the next midnight UTC', () => {
    expect(msUntilNextUtcDay(Date.parse('2026-05-01T23:59:59.000Z'))).toBe(1000);
    expect(msUntilNextUtcDay(Date.parse('2026-05-01T12:00:00.000Z'))).toBe(43_200_000);
    expect(msUntilNextUtcDay(Date.parse('2026-05-02T00:00:00.000Z'))).toBe(86_400_000);
  });
});
