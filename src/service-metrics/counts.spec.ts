import fc from 'fast-check';
import type { ChainableCommander } from 'ioredis';
import { tally, writeCounts, type Count } from './counts';

/** A pipeline that records the commands queued on it. */
function recordingPipeline() {
  const commands: string[] = [];
  const pipeline = {
    hincrby: (key: string, field: string, by: number) => commands.push(`HINCRBY ${key} ${field} ${by}`),
    expire: (key: string, seconds: number) => commands.push(`EXPIRE ${key} ${seconds}`),
    sadd: (key: string, member: string) => commands.push(`SADD ${key} ${member}`),
  };
  return { pipeline: pipeline as unknown as ChainableCommander, commands };
}

const writeMax = (pipeline: ChainableCommander, key: string, field: string, value: number) =>
  (pipeline as unknown as { hincrby: (k: string, f: string, v: string) => void }).hincrby(
    key,
    field,
    `max ${value}`,
  );

describe('tally', () => {
  it('adds up additions to a field, keeps the highest maximum, and each member once, in order of first sight', () => {
    expect(
      tally([
        { key: 'svc:a', field: 'calls', by: 1 },
        { key: 'svc:a', field: 'lastCallAt', max: 20 },
        { key: 'svc:a', field: 'calls', by: 1 },
        { key: 'index', member: 'a' },
        { key: 'svc:a', field: 'sent', by: 3 },
        { key: 'svc:a', field: 'lastCallAt', max: 10 },
        { key: 'index', member: 'a' },
        { key: 'minute:1', field: 'sent', by: 1, expireSeconds: 7200 },
      ]),
    ).toEqual([
      { key: 'svc:a', field: 'calls', by: 2 },
      { key: 'svc:a', field: 'lastCallAt', max: 20 },
      { key: 'index', member: 'a' },
      { key: 'svc:a', field: 'sent', by: 3 },
      { key: 'minute:1', field: 'sent', by: 1, expireSeconds: 7200 },
    ]);
  });

  it('keeps an addition and a maximum of the same field apart', () => {
    expect(
      tally([
        { key: 'k', field: 'f', by: 2 },
        { key: 'k', field: 'f', max: 9 },
      ]),
    ).toHaveLength(2);
  });

  it('leaves the counts it was given as they were', () => {
    const counts: Count[] = [
      { key: 'k', field: 'f', by: 1 },
      { key: 'k', field: 'f', by: 1 },
    ];
    tally(counts);
    expect(counts).toEqual([
      { key: 'k', field: 'f', by: 1 },
      { key: 'k', field: 'f', by: 1 },
    ]);
  });

  it('changes no total, however the counts are split and tallied again', () => {
    const count = fc.oneof(
      fc.record({
        key: fc.constantFrom('a', 'b'),
        field: fc.constantFrom('x', 'y'),
        by: fc.integer({ min: 1, max: 9 }),
      }),
      fc.record({ key: fc.constantFrom('a', 'b'), field: fc.constantFrom('x', 'y'), max: fc.nat(1000) }),
      fc.record({ key: fc.constant('index'), member: fc.constantFrom('a', 'b', 'c') }),
    );
    const totals = (counts: readonly Count[]) => {
      const sums = new Map<string, number>();
      for (const c of counts) {
        if ('member' in c) sums.set(`member ${c.member}`, 1);
        else if ('max' in c)
          sums.set(`max ${c.key}.${c.field}`, Math.max(sums.get(`max ${c.key}.${c.field}`) ?? 0, c.max));
        else sums.set(`by ${c.key}.${c.field}`, (sums.get(`by ${c.key}.${c.field}`) ?? 0) + c.by);
      }
      return sums;
    };
    fc.assert(
      fc.property(fc.array(count), fc.nat(), (counts, at) => {
        const split = at % (counts.length + 1);
        const twice = tally([...tally(counts.slice(0, split)), ...counts.slice(split)]);
        expect(totals(twice)).toEqual(totals(counts));
        expect(twice).toEqual(tally(counts));
      }),
    );
  });
});

describe('writeCounts', () => {
  it('writes each tallied count once, an expiry right after its addition', () => {
    const { pipeline, commands } = recordingPipeline();
    writeCounts(
      pipeline,
      [
        { key: 'svc:a', field: 'calls', by: 1 },
        { key: 'svc:a', field: 'calls', by: 1 },
        { key: 'svc:a', field: 'lastCallAt', max: 20 },
        { key: 'svc:a', field: 'lastCallAt', max: 10 },
        { key: 'minute:1', field: 'sent', by: 1, expireSeconds: 7200 },
        { key: 'index', member: 'a' },
      ],
      writeMax,
    );
    expect(commands).toEqual([
      'HINCRBY svc:a calls 2',
      'HINCRBY svc:a lastCallAt max 20',
      'HINCRBY minute:1 sent 1',
      'EXPIRE minute:1 7200',
      'SADD index a',
    ]);
  });

  it('writes nothing when nothing was counted', () => {
    const { pipeline, commands } = recordingPipeline();
    writeCounts(pipeline, [], writeMax);
    expect(commands).toEqual([]);
  });
});
