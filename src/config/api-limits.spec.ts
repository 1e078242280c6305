import { parseApiRateLimit, parseAuthFailureLimit, parseDailyQuota, parseTrustProxy } from './api-limits';

describe('parseApiRateLimit', () => {
  it('makes a bucket of N calls refilled at N per unit', () => {
    expect(parseApiRateLimit('50/s')).toEqual({ tokensPerMs: 0.05, burst: 50, text: '50/s' });
    expect(parseApiRateLimit('600/m')).toEqual({ tokensPerMs: 0.01, burst: 600, text: '600/m' });
    expect(parseApiRateLimit('3600/h')).toEqual({ tokensPerMs: 0.001, burst: 3600, text: '3600/h' });
  });

  it('keeps a bucket of at least one call for a fractional rate', () => {
    expect(parseApiRateLimit('0.5/s')).toEqual({ tokensPerMs: 0.0005, burst: 1, text: '0.5/s' });
  });

  it('reads unlimited, off and none as no limit', () => {
    for (const text of ['unlimited', 'UNLIMITED', ' off ', 'none'])
      expect(parseApiRateLimit(text)).toBe('unlimited');
  });

  it('refuses anything else', () => {
    for (const text of ['', '10', '10/d', '0/s', '-5/m', 'fast', '10 per second'])
      expect(parseApiRateLimit(text)).toBeUndefined();
  });
});

describe('parseAuthFailureLimit', () => {
  it('reads a whole number of failures per second, minute or hour', () => {
    expect(parseAuthFailureLimit('10/m')).toEqual({ maxFailures: 10, windowMs: 60_000, text: '10/m' });
    expect(parseAuthFailureLimit('3/s')).toEqual({ maxFailures: 3, windowMs: 1000, text: '3/s' });
    expect(parseAuthFailureLimit('100/h')).toEqual({ maxFailures: 100, windowMs: 3_600_000, text: '100/h' });
  });

  it('reads off as no limit', () => {
    expect(parseAuthFailureLimit('off')).toBe('off');
    expect(parseAuthFailureLimit('unlimited')).toBe('off');
  });

  it('refuses fractions and anything else', () => {
    for (const text of ['2.5/m', '0/m', '10', '10/d', 'yes'])
      expect(parseAuthFailureLimit(text)).toBeUndefined();
  });
});

describe('parseDailyQuota', () => {
  it('reads a whole number of at least 1', () => {
    expect(parseDailyQuota('1')).toBe(1);
    expect(parseDailyQuota(' 50000 ')).toBe(50_000);
  });

  it('refuses zero, fractions, signs and words', () => {
    for (const text of ['0', '1.5', '-3', '+3', '1e3', 'many', '', '99999999999999999999'])
      expect(parseDailyQuota(text)).toBeUndefined();
  });
});

describe('parseTrustProxy', () => {
  it('reads true and false', () => {
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy(' TRUE ')).toBe(true);
  });

  it('reads a comma list of addresses, CIDRs and range names', () => {
    expect(parseTrustProxy('10.0.0.1')).toBe('10.0.0.1');
    expect(parseTrustProxy('10.0.0.0/8, 172.16.0.0/12,loopback')).toBe('10.0.0.0/8,172.16.0.0/12,loopback');
    expect(parseTrustProxy('fd00::/8,::1,uniquelocal,linklocal')).toBe('fd00::/8,::1,uniquelocal,linklocal');
  });

  it('refuses hop counts, host names, bad prefixes and empty entries', () => {
    for (const text of [
      '2',
      'yes',
      'proxy.internal',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.1/8/1',
      '10.0.0.1,',
      '',
    ])
      expect(parseTrustProxy(text)).toBeUndefined();
  });
});
