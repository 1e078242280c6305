/** Runs `callback` once, `delayMs` from now; the function returned cancels it. */
export type Scheduler = (callback: () => void, delayMs: number) => () => void;

/** Node's timers, unreferenced: a pending flush never keeps a process alive (shutdown flushes instead). */
export const nodeTimers: Scheduler = (callback, delayMs) => {
  const timer = setTimeout(callback, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface BatcherOptions<T> {
  /** Writes one batch; a rejection is a failed write. With `retry`, writing a batch twice must be harmless. */
  write(batch: T[]): Promise<unknown>;
  /** How long an item waits, at most, before its write starts (unless a write is under way, or failed). */
  delayMs: number;
  /** Items per write; as soon as this many wait, they are written. No bound when absent. */
  maxBatch?: number;
  /** Items that may wait (the batch being written aside); beyond it the oldest are dropped and counted. */
  maxWaiting: number;
  /**
   * Keep a failed batch, in front of later items, and write it again `afterMs` later; `coalesce` may shrink
   * what is kept (counts added up). Without it, a failed batch is dropped and counted.
   */
  retry?: { afterMs: number; coalesce?: (items: T[]) => T[] };
  /** Told of each failed write, with the number of items it held (to log it). */
  onWriteFailed?(error: unknown, items: number): void;
  /** Told when items are dropped because more than `maxWaiting` waited. */
  onOverflow?(dropped: number): void;
  /** Timers; a fake clock in tests. */
  schedule?: Scheduler;
}

/**
 * Collects items and writes them in batches, off the path of whoever adds them: after `delayMs`, or at once
 * when `maxBatch` wait. One write at a time, in the order the items were added, each item written once
 * (retried after a failure when asked, else dropped); memory is bounded by `maxWaiting`. What was dropped is
 * counted; a shutdown calls `close()` to write what is left.
 */
export class Batcher<T> {
  private waiting: T[] = [];
  private droppedItems = 0;
  private cancelTimer?: () => void;
  private draining: Promise<void> = Promise.resolve();
  private isDraining = false;
  private drainAgain = false;
  /** The last write failed and is retried later: until then, new items neither start nor hasten a write. */
  private holding = false;
  private readonly maxBatch: number;
  private readonly schedule: Scheduler;

  constructor(private readonly options: BatcherOptions<T>) {
    this.maxBatch = options.maxBatch ?? Infinity;
    this.schedule = options.schedule ?? nodeTimers;
  }

  /** Items dropped since start: failed writes without retry, and overflow. */
  get dropped(): number {
    return this.droppedItems;
  }

  /** Items waiting to be written, not counting a batch being written. */
  get size(): number {
    return this.waiting.length;
  }

  add(item: T): void {
    this.waiting.push(item);
    this.dropOverflow();
    if (!this.holding && this.waiting.length >= this.maxBatch) void this.flush();
    else this.cancelTimer ??= this.schedule(() => void this.flush(), this.options.delayMs);
  }

  /**
   * Writes everything waiting now, a batch at a time, after any write under way; resolves when done or when
   * a write failed. Never rejects.
   */
  flush(): Promise<void> {
    this.disarm();
    this.drainAgain = true;
    if (!this.isDraining) this.draining = this.drain();
    return this.draining;
  }

  /**
   * For a shutdown: writes everything waiting, without waiting for a retry. Resolves to the number of items
   * that could still not be written, which are given up.
   */
  async close(): Promise<number> {
    do await this.flush();
    while (this.waiting.length > 0 && !this.holding);
    this.disarm();
    const lost = this.waiting.length;
    this.waiting = [];
    return lost;
  }

  /** Each round writes the items waiting when it began; items added meanwhile wait for their own turn. */
  private async drain(): Promise<void> {
    // Set and cleared in the same turns as the checks of drainAgain, so that no flush is ever missed.
    this.isDraining = true;
    try {
      while (this.drainAgain) {
        this.drainAgain = false;
        let remaining = this.waiting.length;
        while (remaining > 0 && this.waiting.length > 0) {
          const batch = this.waiting.splice(0, Math.min(this.maxBatch, remaining));
          remaining -= batch.length;
          try {
            await this.options.write(batch);
            this.holding = false;
          } catch (error) {
            this.failed(batch, error);
            if (this.holding) return;
          }
        }
      }
    } finally {
      this.isDraining = false;
    }
  }

  private failed(batch: T[], error: unknown): void {
    const { retry } = this.options;
    if (retry) {
      const kept = [...batch, ...this.waiting];
      this.waiting = retry.coalesce ? retry.coalesce(kept) : kept;
      this.holding = true;
      this.disarm();
      this.cancelTimer = this.schedule(() => void this.flush(), retry.afterMs);
    } else {
      this.droppedItems += batch.length;
    }
    this.options.onWriteFailed?.(error, batch.length);
    this.dropOverflow();
  }

  private dropOverflow(): void {
    const excess = this.waiting.length - this.options.maxWaiting;
    if (excess <= 0) return;
    this.waiting.splice(0, excess);
    this.droppedItems += excess;
    this.options.onOverflow?.(excess);
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}
