import { Throttle } from './throttle';

describe('Throttle', () => {
  it('allows the first time, then once per interval', () => {
    let now = 1_000_000;
    const throttle = new Throttle(10_000, () => now);
    expect(throttle.allows()).toBe(true);
    now += 9_999;
    expect(throttle.allows()).toBe(false);
    now += 1;
    expect(throttle.allows()).toBe(true);
    expect(throttle.allows()).toBe(false);
  });

  it('counts the interval from the last time it allowed, not from the last time it was asked', () => {
    let now = 0;
    const throttle = new Throttle(100, () => now);
    expect(throttle.allows()).toBe(true);
    const answers: boolean[] = [];
    for (now = 10; now <= 250; now += 10) answers.push(throttle.allows());
    expect(answers.filter(Boolean)).toHaveLength(2);
    expect(answers.indexOf(true)).toBe(9);
  });
});
