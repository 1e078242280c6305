import {
  parseApiRateLimit,
  parseAuthFailureLimit,
  parseDailyQuota,
  parseTrustProxy,
  TRUST_PROXY_HINT,
} from './api-limits';

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
  it('reads false as nobody: the client address is the TCP peer', () => {
    expect(parseTrustProxy('false')).toEqual({ hops: false });
    expect(parseTrustProxy(' FALSE ')).toEqual({ hops: false });
  });

  it("reads a comma list of the proxies' own addresses, CIDRs and loopback", () => {
    expect(parseTrustProxy('10.0.3.7')).toEqual({ hops: '10.0.3.7' });
    expect(parseTrustProxy('10.0.3.0/28, 172.20.1.4,loopback')).toEqual({
      hops: '10.0.3.0/28,172.20.1.4,loopback',
    });
    expect(parseTrustProxy('fd00:1::/64,::1,::ffff:10.0.3.7')).toEqual({
      hops: 'fd00:1::/64,::1,::ffff:10.0.3.7',
    });
  });

  it('refuses true, uniquelocal and linklocal, which would let whole populations choose their address', () => {
    for (const [text, who] of [
      ['true', 'every client'],
      [' True ', 'every client'],
      ['uniquelocal', 'every client in a private range'],
      ['10.0.3.7,uniquelocal', 'every client in a private range'],
      ['loopback,linklocal', 'every client on the local link'],
    ] as const) {
      const setting = parseTrustProxy(text);
      expect(setting).toEqual({ refused: expect.stringContaining(`would trust ${who}`) as string });
      expect(setting).toEqual({
        refused: expect.stringMatching(
          /could choose its address through X-Forwarded-For: name the proxies' own/,
        ),
      });
    }
  });

  it('refuses a range that covers every address, IPv4-mapped ones included', () => {
    for (const text of ['0.0.0.0/0', '::/0', '::ffff:0:0/96', '::ffff:0.0.0.0/90', '10.0.3.7,::/0'])
      expect(parseTrustProxy(text)).toEqual({
        refused: expect.stringContaining('a range covering every address would trust every client') as string,
      });
    expect(parseTrustProxy('::ffff:10.0.0.0/104')).toEqual({ hops: '::ffff:10.0.0.0/104' });
  });

  it('refuses hop counts, host names, netmasks, bad prefixes and empty entries, with what to write', () => {
    for (const text of [
      '2',
      'yes',
      'proxy.internal',
      '10.0.0.0/255.0.0.0',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.1/8/1',
      '10.0.0.1,',
      '',
    ])
      expect(parseTrustProxy(text)).toEqual({ refused: TRUST_PROXY_HINT });
    expect(TRUST_PROXY_HINT).toBe(
      "must be false or a comma list of the proxies' own addresses or CIDRs (e.g. 10.0.3.7,10.0.3.0/28,loopback)",
    );
  });
});
