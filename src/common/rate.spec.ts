import { parseRate, parseRateLimit } from './rate';

describe('parseRate', () => {
  it('reads a count per second, minute or hour', () => {
    expect(parseRate('10/s')).toEqual({ count: 10, periodMs: 1000, text: '10/s' });
    expect(parseRate(' 2.5 / m ')).toEqual({ count: 2.5, periodMs: 60_000, text: '2.5/m' });
    expect(parseRate('5000/h')).toEqual({ count: 5000, periodMs: 3_600_000, text: '5000/h' });
  });

  it('refuses anything else', () => {
    for (const text of ['10', '10/d', '0/s', '-1/s', 'ten/s', '']) expect(parseRate(text)).toBeUndefined();
  });
});

describe('parseRateLimit', () => {
  it('reads per second, minute and hour, with the default burst', () => {
    expect(parseRateLimit('10/s')).toEqual({ tokensPerMs: 0.01, burst: 10, text: '10/s' });
    expect(parseRateLimit('600/m')).toEqual({ tokensPerMs: 0.01, burst: 10, text: '600/m' });
    expect(parseRateLimit('36/h')).toEqual({ tokensPerMs: 0.00001, burst: 1, text: '36/h' });
  });

  it('takes an explicit burst', () => {
    expect(parseRateLimit('10/s', '1')?.burst).toBe(1);
    expect(parseRateLimit('10/s', '50')?.burst).toBe(50);
  });

  it('refuses anything else', () => {
    for (const text of ['10', '10/d', '0/s', '-1/s', 'ten/s', ''])
      expect(parseRateLimit(text)).toBeUndefined();
    expect(parseRateLimit('10/s', '0')).toBeUndefined();
    expect(parseRateLimit('10/s', 'x')).toBeUndefined();
  });
});
