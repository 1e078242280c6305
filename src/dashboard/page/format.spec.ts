import {
  formatDuration,
  formatField,
  formatNumber,
  formatTime,
  NOT_KNOWN,
  readField,
  recipients,
} from './format';

describe('formatting', () => {
  it('formats numbers, times and durations, and a dash for what is not known', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(7.5)).toBe('7.5');
    expect(formatNumber(null)).toBe(NOT_KNOWN);
    expect(formatTime('2026-11-26T10:00:03.120Z')).toBe('2026-11-26 10:00:03 UTC');
    expect(formatTime(null)).toBe(NOT_KNOWN);
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(720)).toBe('12 min');
    expect(formatDuration(5 * 3600 + 12 * 60)).toBe('5 h 12 min');
    expect(formatDuration(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
    expect(formatDuration(undefined)).toBe(NOT_KNOWN);
  });

  it('writes a cell by its data-format', () => {
    expect(formatField(2048, 'number')).toBe('2,048');
    expect(formatField(2048, undefined)).toBe('2,048');
    expect(formatField(90_061, 'duration')).toBe('1 d 1 h');
    expect(formatField('7.0.15', 'text')).toBe('7.0.15');
    expect(formatField(null, 'text')).toBe(NOT_KNOWN);
    expect(formatField({ nested: true }, 'text')).toBe(NOT_KNOWN);
  });

  it('names the first recipient and counts the others', () => {
    expect(recipients([])).toBe('');
    expect(recipients(['a@example.com'])).toBe('a@example.com');
    expect(recipients(['a@example.com', 'b@example.com', 'c@example.com'])).toBe('a@example.com +2');
  });
});

describe('readField', () => {
  const data = { summary: { waiting: 0 }, redis: null };

  it('reads a path of own properties', () => {
    expect(readField(data, 'summary.waiting')).toBe(0);
    expect(readField(data, 'summary')).toEqual({ waiting: 0 });
  });

  it('is undefined past a null, a missing key or a prototype', () => {
    expect(readField(data, 'redis.version')).toBeUndefined();
    expect(readField(data, 'summary.active')).toBeUndefined();
    expect(readField(data, 'summary.constructor')).toBeUndefined();
    expect(readField(data, '__proto__.toString')).toBeUndefined();
  });
});
