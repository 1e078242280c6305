import calculateSlot from 'cluster-key-slot';
import { RedisKeys } from './redis-keys';
import { uuidv7 } from '../common/ids';

describe('RedisKeys', () => {
  it('keeps the layout it always had with one partition: partition 0 is the prefix itself', () => {
    const keys = new RedisKeys('{freeface}');
    expect(keys.partitionOf(uuidv7(Date.now()))).toBe(0);
    expect(keys.partitionNumbers()).toEqual([0]);
    expect(keys.queuePrefix(0)).toBe('{freeface}');
    expect(keys.email('a')).toBe('{freeface}:email:a');
    expect(keys.scheduled(0)).toBe('{freeface}:scheduled');
  });

  it('gives each partition a hash tag of its own, and keeps shared state under the prefix', () => {
    const keys = new RedisKeys('{freeface}', 6);
    expect(keys.partitionNumbers()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(keys.queuePrefix(4)).toMatch(/^\{freeface\.p4(\.\d+)?\}$/);
    expect(keys.deadLetters(2)).toBe(`${keys.queuePrefix(2)}:dead-letters`);
    expect(keys.email('a')).toBe(`${keys.queuePrefix(keys.partitionOf('a'))}:email:a`);
    expect(keys.providerEvent('a', 'ses', 'e1')).toBe(
      `${keys.queuePrefix(keys.partitionOf('a'))}:provider-event:ses:e1`,
    );
    expect(keys.circuit('smtp')).toBe('{freeface}:circuit:smtp');
    expect(new RedisKeys('app{ff}x', 2).queuePrefix(1)).toMatch(/^app\{ff\.p1(\.\d+)?\}x$/);
    expect(new RedisKeys('plain', 2).queuePrefix(1)).toBe('plain.p1');
    expect(new RedisKeys('{}x', 2).queuePrefix(1)).toBe('{}x.p1');
  });

  it("puts each partition's slot in its share of the slots, so that even shards hold as many partitions", () => {
    for (const [prefix, partitions] of [
      ['{freeface}', 6],
      ['{bench-shards}', 6],
      ['{e2e-1234}', 12],
      ['{freeface}', 64],
    ] as const) {
      const keys = new RedisKeys(prefix, partitions);
      const slots = keys.partitionNumbers().map((partition) => calculateSlot(keys.queuePrefix(partition)));
      slots.forEach((slot, partition) => {
        expect(slot).toBeGreaterThanOrEqual((partition * 16_384) / partitions);
        expect(slot).toBeLessThan(((partition + 1) * 16_384) / partitions);
      });
      // Three shards of even ranges, as redis-cli --cluster create makes them.
      const perShard = [0, 0, 0];
      for (const slot of slots) perShard[Math.min(2, Math.floor(slot / (16_384 / 3)))]!++;
      if (partitions % 3 === 0) expect(perShard).toEqual([partitions / 3, partitions / 3, partitions / 3]);
    }
  });

  it('spreads UUIDv7 ids made in the same millisecond evenly over the partitions', () => {
    const keys = new RedisKeys('{freeface}', 6);
    const now = Date.now();
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 6000; i++) counts[keys.partitionOf(uuidv7(now))]!++;
    for (const count of counts) expect(count).toBeGreaterThan(850);
    for (const count of counts) expect(count).toBeLessThan(1150);
  });

  it('groups items by partition, in their order', () => {
    const keys = new RedisKeys('{freeface}', 3);
    const ids = Array.from({ length: 20 }, (_, i) => `id-${i}`);
    const grouped = keys.byPartition(ids, (id) => id);
    expect([...grouped.values()].flat().sort()).toEqual([...ids].sort());
    for (const [partition, members] of grouped) {
      expect(members.every((id) => keys.partitionOf(id) === partition)).toBe(true);
      expect(members).toEqual(ids.filter((id) => keys.partitionOf(id) === partition));
    }
  });
});
