import fc from 'fast-check';
import { Batcher, nodeTimers, type BatcherOptions, type Scheduler } from './batcher';

/** Timers that run only when told to, in the order they fall due. */
class FakeClock {
  now = 0;
  private timers: { at: number; seq: number; run: () => void }[] = [];
  private seq = 0;

  readonly schedule: Scheduler = (run, delayMs) => {
    const timer = { at: this.now + delayMs, seq: this.seq++, run };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  };

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time on by `ms`, running each timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.run();
    }
    this.now = end;
  }
}

/** Lets every promise that can settle do so. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A write whose calls stay open until the test settles them (or, once `auto`, succeed at once). */
class ControlledWrites<T> {
  readonly calls: { batch: T[]; settle(ok: boolean): void }[] = [];
  readonly written: T[] = [];
  auto = false;
  inFlight = 0;
  maxInFlight = 0;

  readonly write = (batch: T[]): Promise<void> => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise<void>((resolve, reject) => {
      const call = {
        batch: [...batch],
        settle: (ok: boolean) => {
          this.inFlight--;
          this.calls.splice(this.calls.indexOf(call), 1);
          if (ok) {
            this.written.push(...call.batch);
            resolve();
          } else reject(new Error('Connection is closed.'));
        },
      };
      this.calls.push(call);
      if (this.auto) call.settle(true);
    });
  };

  /** Settles the write under way, if any. */
  settleNext(ok: boolean): void {
    this.calls[0]?.settle(ok);
  }

  get batches(): T[][] {
    return this.calls.map((c) => c.batch);
  }
}

function setUp<T = number>(options: Partial<BatcherOptions<T>> = {}) {
  const clock = new FakeClock();
  const writes = new ControlledWrites<T>();
  const failures: number[] = [];
  const overflows: number[] = [];
  const batcher = new Batcher<T>({
    write: writes.write,
    delayMs: 20,
    maxWaiting: 1000,
    schedule: clock.schedule,
    onWriteFailed: (_error, items) => failures.push(items),
    onOverflow: (dropped) => overflows.push(dropped),
    ...options,
  });
  return { clock, writes, batcher, failures, overflows };
}

describe('Batcher', () => {
  it('writes a batch delayMs after its first item, later items not putting it off', async () => {
    const { clock, writes, batcher } = setUp();
    batcher.add(1);
    clock.advance(15);
    batcher.add(2);
    clock.advance(4);
    await settle();
    expect(writes.batches).toEqual([]);
    clock.advance(1);
    await settle();
    expect(writes.batches).toEqual([[1, 2]]);
  });

  it('writes at once when maxBatch items wait, never more than maxBatch in one write', async () => {
    const { clock, writes, batcher } = setUp({ maxBatch: 3 });
    for (const item of [1, 2, 3, 4]) batcher.add(item);
    await settle();
    expect(writes.batches).toEqual([[1, 2, 3]]);
    expect(batcher.size).toBe(1);
    writes.settleNext(true);
    await settle();
    expect(writes.batches).toEqual([]);
    clock.advance(20);
    await settle();
    expect(writes.batches).toEqual([[4]]);
  });

  it('starts no write while another is under way, and writes what came meanwhile after it', async () => {
    const { clock, writes, batcher } = setUp();
    batcher.add(1);
    clock.advance(20);
    batcher.add(2);
    clock.advance(20);
    void batcher.flush();
    await settle();
    expect(writes.batches).toEqual([[1]]);
    writes.settleNext(true);
    await settle();
    expect(writes.batches).toEqual([[2]]);
    writes.settleNext(true);
    expect(writes.maxInFlight).toBe(1);
  });

  it('drops and counts a failed batch when not asked to retry, and goes on with the next', async () => {
    const { clock, writes, batcher, failures } = setUp({ maxBatch: 2 });
    for (const item of [1, 2, 3]) batcher.add(item);
    const flushed = batcher.flush();
    await settle();
    writes.settleNext(false);
    await settle();
    writes.settleNext(true);
    await flushed;
    expect(writes.written).toEqual([3]);
    expect(batcher.dropped).toBe(2);
    expect(failures).toEqual([2]);
    expect(clock.pending).toBe(0);
  });

  it('keeps a failed batch in front of later items and writes it again afterMs later, not sooner', async () => {
    const { clock, writes, batcher, failures } = setUp({ retry: { afterMs: 1000 } });
    batcher.add(1);
    clock.advance(20);
    await settle();
    writes.settleNext(false);
    await settle();
    batcher.add(2);
    clock.advance(999);
    await settle();
    expect(writes.batches).toEqual([]);
    clock.advance(1);
    await settle();
    expect(writes.batches).toEqual([[1, 2]]);
    writes.settleNext(true);
    await settle();
    expect(writes.written).toEqual([1, 2]);
    expect(failures).toEqual([1]);
    expect(batcher.dropped).toBe(0);
  });

  it('starts no write while a retry is due, however many items come', async () => {
    const { clock, writes, batcher } = setUp({ maxBatch: 2, retry: { afterMs: 1000 } });
    batcher.add(1);
    batcher.add(2);
    await settle();
    writes.settleNext(false);
    await settle();
    for (let item = 3; item <= 10; item++) batcher.add(item);
    clock.advance(999);
    await settle();
    expect(writes.batches).toEqual([]);
    clock.advance(1);
    await settle();
    expect(writes.batches).toEqual([[1, 2]]);
  });

  it('once a retry succeeds, writes again at once when maxBatch items wait', async () => {
    const { clock, writes, batcher } = setUp({ maxBatch: 2, retry: { afterMs: 1000 } });
    batcher.add(1);
    batcher.add(2);
    await settle();
    writes.settleNext(false);
    await settle();
    clock.advance(1000);
    await settle();
    writes.settleNext(true);
    await settle();
    batcher.add(3);
    batcher.add(4);
    await settle();
    expect(writes.batches).toEqual([[3, 4]]);
  });

  it('drops the oldest items beyond maxWaiting, counting them and saying how many', async () => {
    const { clock, writes, batcher, overflows } = setUp({ maxWaiting: 3, retry: { afterMs: 1000 } });
    batcher.add(1);
    batcher.add(2);
    clock.advance(20);
    await settle();
    writes.settleNext(false);
    await settle();
    for (const item of [3, 4, 5]) batcher.add(item);
    expect(batcher.size).toBe(3);
    expect(batcher.dropped).toBe(2);
    expect(overflows).toEqual([1, 1]);
    clock.advance(1000);
    await settle();
    expect(writes.batches).toEqual([[3, 4, 5]]);
  });

  it('shrinks what it keeps after a failure with coalesce', async () => {
    const sum = (items: number[]) => [items.reduce((a, b) => a + b, 0)];
    const { clock, writes, batcher } = setUp({ retry: { afterMs: 1000, coalesce: sum } });
    batcher.add(1);
    batcher.add(2);
    clock.advance(20);
    await settle();
    writes.settleNext(false);
    batcher.add(4);
    await settle();
    expect(batcher.size).toBe(1);
    clock.advance(1000);
    await settle();
    expect(writes.batches).toEqual([[7]]);
  });

  it('on close, writes everything waiting at once, after the write under way', async () => {
    const { clock, writes, batcher } = setUp({ maxBatch: 2 });
    for (const item of [1, 2, 3, 4, 5]) batcher.add(item);
    await settle();
    writes.auto = true;
    const closed = batcher.close();
    writes.settleNext(true);
    expect(await closed).toBe(0);
    expect(writes.written).toEqual([1, 2, 3, 4, 5]);
    expect(clock.pending).toBe(0);
  });

  it('on close, writes also what comes while it writes', async () => {
    const { writes, batcher } = setUp();
    batcher.add(1);
    const closed = batcher.close();
    await settle();
    batcher.add(2);
    writes.auto = true;
    writes.settleNext(true);
    expect(await closed).toBe(0);
    expect(writes.written).toEqual([1, 2]);
  });

  it('on close, tries once more without waiting for the retry, and gives up what still cannot be written', async () => {
    const { clock, writes, batcher, failures } = setUp({ retry: { afterMs: 1000 } });
    batcher.add(1);
    clock.advance(20);
    await settle();
    writes.settleNext(false);
    await settle();
    batcher.add(2);
    const closed = batcher.close();
    await settle();
    expect(writes.batches).toEqual([[1, 2]]);
    writes.settleNext(false);
    expect(await closed).toBe(2);
    expect(batcher.size).toBe(0);
    expect(failures).toEqual([1, 2]);
    expect(clock.pending).toBe(0);
  });

  it('keeps batching items added after close', async () => {
    const { clock, writes, batcher } = setUp();
    await batcher.close();
    batcher.add(1);
    writes.auto = true;
    clock.advance(20);
    await settle();
    expect(writes.written).toEqual([1]);
  });

  it('does not keep a process alive for a pending write', () => {
    const spy = jest.spyOn(global, 'setTimeout');
    const cancel = nodeTimers(() => undefined, 60_000);
    const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    cancel();
    spy.mockRestore();
  });
});

type Step =
  { kind: 'add' } | { kind: 'tick'; ms: number } | { kind: 'settle'; ok: boolean } | { kind: 'flush' };

const steps = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.constant<Step>({ kind: 'add' }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 1200 }).map<Step>((ms) => ({ kind: 'tick', ms })) },
    { weight: 3, arbitrary: fc.boolean().map<Step>((ok) => ({ kind: 'settle', ok })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'flush' }) },
  ),
  { maxLength: 80 },
);

const shapes = fc.record({
  delayMs: fc.integer({ min: 0, max: 100 }),
  maxBatch: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  maxWaiting: fc.integer({ min: 1, max: 40 }),
  retryMs: fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
});

describe('Batcher (properties)', () => {
  it('writes each item at most once, in order, one write at a time, within its bounds; close accounts for every item', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, steps, async (shape, script) => {
        const { clock, writes, batcher } = setUp({
          delayMs: shape.delayMs,
          maxBatch: shape.maxBatch,
          maxWaiting: shape.maxWaiting,
          retry: shape.retryMs === undefined ? undefined : { afterMs: shape.retryMs },
        });
        const batchSizes: number[] = [];
        const write = writes.write;
        let added = 0;
        for (const step of script) {
          if (step.kind === 'add') batcher.add(++added);
          else if (step.kind === 'tick') clock.advance(step.ms);
          else if (step.kind === 'settle') writes.settleNext(step.ok);
          else void batcher.flush();
          await settle();
          batchSizes.push(...writes.batches.map((b) => b.length));
          expect(batcher.size).toBeLessThanOrEqual(shape.maxWaiting);
          expect(writes.inFlight).toBeLessThanOrEqual(1);
        }
        writes.auto = true;
        writes.settleNext(true);
        const lost = await batcher.close();

        expect(writes.maxInFlight).toBeLessThanOrEqual(1);
        expect(write).toBe(writes.write);
        for (const size of batchSizes) {
          expect(size).toBeGreaterThan(0);
          expect(size).toBeLessThanOrEqual(shape.maxBatch ?? Infinity);
        }
        // In order, none twice: strictly increasing.
        expect(writes.written.every((item, i) => i === 0 || item > writes.written[i - 1]!)).toBe(true);
        expect(writes.written.length + batcher.dropped + lost).toBe(added);
        // Every write succeeds during close, so close gives up nothing.
        expect(lost).toBe(0);
        expect(clock.pending).toBe(0);
      }),
    );
  });

  it('writes every item exactly once, in order, while writes succeed and the bound is not reached', async () => {
    await fc.assert(
      fc.asyncProperty(shapes, steps, async (shape, script) => {
        const { clock, writes, batcher } = setUp({
          delayMs: shape.delayMs,
          maxBatch: shape.maxBatch,
          maxWaiting: 1000,
          retry: shape.retryMs === undefined ? undefined : { afterMs: shape.retryMs },
        });
        let added = 0;
        for (const step of script) {
          if (step.kind === 'add') batcher.add(++added);
          else if (step.kind === 'tick') clock.advance(step.ms);
          else if (step.kind === 'settle') writes.settleNext(true);
          else void batcher.flush();
          await settle();
        }
        writes.auto = true;
        writes.settleNext(true);
        await batcher.close();
        expect(writes.written).toEqual(Array.from({ length: added }, (_, i) => i + 1));
        expect(batcher.dropped).toBe(0);
      }),
    );
  });

  it('writes no item later than delayMs after it was added, while writes succeed at once', async () => {
    // Time moves only by ticks here: with no delay, an item is due before any tick could have written it.
    const delayed = shapes.filter((shape) => shape.delayMs > 0);
    await fc.assert(
      fc.asyncProperty(delayed, steps, async (shape, script) => {
        const { clock, writes, batcher } = setUp({
          delayMs: shape.delayMs,
          maxBatch: shape.maxBatch,
          maxWaiting: 1000,
        });
        writes.auto = true;
        const addedAt: number[] = [];
        for (const step of script) {
          if (step.kind === 'add') {
            addedAt.push(clock.now);
            batcher.add(addedAt.length);
          } else if (step.kind === 'tick') clock.advance(step.ms);
          else if (step.kind === 'flush') void batcher.flush();
          await settle();
          const due = addedAt.filter((at) => clock.now - at >= shape.delayMs).length;
          expect(writes.written.length).toBeGreaterThanOrEqual(due);
        }
      }),
    );
  });

  it('keeps the sum of what it coalesces through failures', async () => {
    type Count = { key: string; by: number };
    const coalesce = (items: Count[]) => {
      const sums = new Map<string, number>();
      for (const { key, by } of items) sums.set(key, (sums.get(key) ?? 0) + by);
      return [...sums].map(([key, by]) => ({ key, by }));
    };
    const counts = fc.array(
      fc.oneof(
        fc.record({ key: fc.constantFrom('a', 'b', 'c'), by: fc.integer({ min: 1, max: 9 }) }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2000 }),
      ),
      { maxLength: 80 },
    );
    await fc.assert(
      fc.asyncProperty(counts, async (script) => {
        const { clock, writes, batcher } = setUp<Count>({
          maxWaiting: 1000,
          retry: { afterMs: 1000, coalesce },
        });
        const expected = new Map<string, number>();
        for (const step of script) {
          if (typeof step === 'object') {
            batcher.add(step);
            expected.set(step.key, (expected.get(step.key) ?? 0) + step.by);
          } else if (typeof step === 'boolean') writes.settleNext(step);
          else clock.advance(step);
          await settle();
          expect(batcher.size).toBeLessThanOrEqual(3 + script.length);
        }
        writes.auto = true;
        writes.settleNext(true);
        await batcher.close();
        expect(new Map(coalesce(writes.written).map(({ key, by }) => [key, by]))).toEqual(expected);
      }),
    );
  });
});
