import { performance } from 'node:perf_hooks';

/** The part of a logger a StepTimer needs (AppLogger has it). */
export interface DebugLogger {
  isLevelEnabled(level: 'debug'): boolean;
  debug(fields: Record<string, unknown>, message: string): void;
}

/**
 * Where one unit of work's time goes: `lap('claim')` after each step, `done('delivery timing')` at the end
 * logs one debug line with every step's milliseconds and the total, e.g.
 * `{"steps":{"claim":0.41,"prepare":0.08,"send":12.3,"record":0.52},"totalMs":13.31,"emailId":"…"}`.
 * When the logger is above debug it does nothing at all (no clock reads), so it can stay on the per-email path.
 */
export class StepTimer {
  private readonly steps: Record<string, number> = {};
  private readonly startedAt: number;
  private last: number;

  private constructor(
    private readonly logger: DebugLogger,
    private readonly context: Record<string, unknown>,
  ) {
    this.startedAt = this.last = performance.now();
  }

  /** A timer that logs through `logger` at debug; a no-op one when debug is off for that logger. */
  static start(logger: DebugLogger, context: Record<string, unknown> = {}): StepTimer | typeof NO_TIMER {
    return logger.isLevelEnabled('debug') ? new StepTimer(logger, context) : NO_TIMER;
  }

  /** Ends the step `name` now: it took the time since the previous lap (or the start). */
  lap(name: string): void {
    const now = performance.now();
    this.steps[name] = round((this.steps[name] ?? 0) + now - this.last);
    this.last = now;
  }

  /** Logs the steps and the total, with the context and `extra` (e.g. the outcome). */
  done(message: string, extra: Record<string, unknown> = {}): void {
    const totalMs = round(performance.now() - this.startedAt);
    this.logger.debug({ ...this.context, ...extra, steps: this.steps, totalMs }, message);
  }
}

/** What `StepTimer.start` returns when debug is off: the same calls, doing nothing. */
const NO_TIMER = {
  lap(): void {},
  done(): void {},
};

/** Milliseconds to two decimals: enough to tell a 0.4 ms Redis call from a 12 ms send. */
const round = (ms: number) => Math.round(ms * 100) / 100;
