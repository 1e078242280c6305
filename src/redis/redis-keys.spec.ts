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
    expect(keys.queuePrefix(4)).toBe('{freeface.p4}');
    expect(keys.deadLetters(2)).toBe('{freeface.p2}:dead-letters');
    expect(keys.email('a')).toBe(`{freeface.p${keys.partitionOf('a')}}:email:a`);
    expect(keys.providerEvent('a', 'ses', 'e1')).toBe(
      `{freeface.p${keys.partitionOf('a')}}:provider-event:ses:e1`,
    );
    expect(keys.circuit('smtp')).toBe('{freeface}:circuit:smtp');
    expect(new RedisKeys('app{ff}x', 2).queuePrefix(1)).toBe('app{ff.p1}x');
    expect(new RedisKeys('plain', 2).queuePrefix(1)).toBe('plain.p1');
    expect(new RedisKeys('{}x', 2).queuePrefix(1)).toBe('{}x.p1');
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
