/**
 * Lets something happen at most once per `intervalMs`: a log line that an outage would otherwise repeat
 * many times a second.
 */
export class Throttle {
  private lastAt = -Infinity;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `intervalMs` has passed since it last said true. */
  allows(): boolean {
    const now = this.now();
    if (now - this.lastAt < this.intervalMs) return false;
    this.lastAt = now;
    return true;
  }
}
