import type Redis from 'ioredis';
import { CounterBuffer } from './counter-buffer';

/** Records the commands of each pipeline; `fail` makes the next exec report an error. */
function recordingRedis() {
  const flushed: string[][] = [];
  let fail = false;
  const redis = {
    pipeline() {
      const commands: string[] = [];
      const pipeline = {
        hincrby: (key: string, field: string, by: number) => commands.push(`HINCRBY ${key} ${field} ${by}`),
        expire: (key: string, seconds: number) => commands.push(`EXPIRE ${key} ${seconds}`),
        max: (key: string, field: string, value: number) => commands.push(`MAX ${key} ${field} ${value}`),
        exec: () => {
          if (fail) {
            fail = false;
            return Promise.resolve([[new Error('READONLY'), null]]);
          }
          flushed.push(commands);
          return Promise.resolve(commands.map(() => [null, 1]));
        },
      };
      return pipeline;
    },
  };
  return {
    redis: redis as unknown as Redis,
    flushed,
    failNext: () => (fail = true),
  };
}

const writeMax = (pipeline: unknown, key: string, field: string, value: number) =>
  (pipeline as { max: (k: string, f: string, v: number) => void }).max(key, field, value);

describe('CounterBuffer', () => {
  it('adds up increments per key and field and writes them in one pipeline', async () => {
    const { redis, flushed } = recordingRedis();
    const buffer = new CounterBuffer();
    buffer.add('svc:a', 'calls');
    buffer.add('svc:a', 'calls');
    buffer.add('svc:a', 'sent', 3);
    buffer.add('minute:1', 'sent', 1, 7200);
    buffer.max('svc:a', 'lastCallAt', 20);
    buffer.max('svc:a', 'lastCallAt', 10);
    await buffer.flush(redis, writeMax);

    expect(flushed).toEqual([
      [
        'HINCRBY svc:a calls 2',
        'HINCRBY svc:a sent 3',
        'HINCRBY minute:1 sent 1',
        'EXPIRE minute:1 7200',
        'MAX svc:a lastCallAt 20',
      ],
    ]);
    expect(buffer.isEmpty).toBe(true);
  });

  it('writes nothing when nothing was counted', async () => {
    const { redis, flushed } = recordingRedis();
    await new CounterBuffer().flush(redis, writeMax);
    expect(flushed).toEqual([]);
  });

  it('keeps what a failed flush could not write, adding later counts to it', async () => {
    const { redis, flushed, failNext } = recordingRedis();
    const buffer = new CounterBuffer();
    buffer.add('svc:a', 'calls', 2);
    buffer.max('svc:a', 'lastCallAt', 5);
    failNext();
    await expect(buffer.flush(redis, writeMax)).rejects.toThrow('READONLY');
    expect(buffer.isEmpty).toBe(false);

    buffer.add('svc:a', 'calls');
    buffer.max('svc:a', 'lastCallAt', 4);
    await buffer.flush(redis, writeMax);
    expect(flushed).toEqual([['HINCRBY svc:a calls 3', 'MAX svc:a lastCallAt 5']]);
  });
});
