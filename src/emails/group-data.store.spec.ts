import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { sizedJson } from '../common/data-limit';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { GroupDataStore } from './group-data.store';

const DAY_MS = 86_400_000;
const keys = new RedisKeys('{group-data-test}');

describe('GroupDataStore (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let store: GroupDataStore;

  /** Writes a group's shared data for `members` emails, living a day. */
  const written = async (groupId: string, members: number) => {
    await store.write({ groupId, data: sizedJson({ product: 'FreeFace' }), members }, DAY_MS);
    return groupId;
  };

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    store = new GroupDataStore({ client: redis } as unknown as RedisConnections, keys, {
      email: { retentionDays: 7 },
    } as AppConfig);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it("keeps the data with one bit per member, from the first byte's highest bit", async () => {
    const groupId = await written('g', 13);
    expect(await store.find(groupId)).toEqual({ product: 'FreeFace' });
    expect(await redis.bitcount(keys.groupDataMembers(groupId))).toBe(13);
    expect(await redis.getbit(keys.groupDataMembers(groupId), 12)).toBe(1);
    expect(await redis.getbit(keys.groupDataMembers(groupId), 13)).toBe(0);
    expect(await redis.strlen(keys.groupDataMembers(groupId))).toBe(2);
  });

  describe('release-group-data.lua', () => {
    it('drops the shared data when the last member releases it; a release twice counts once', async () => {
      const groupId = await written('g', 3);
      await store.releaseMember(groupId, 0);
      await store.releaseMember(groupId, 0);
      await store.releaseMember(groupId, 2);
      expect(await store.find(groupId)).toBeDefined();
      await store.releaseMember(groupId, 1);
      expect(await store.find(groupId)).toBeUndefined();
      expect(await redis.exists(keys.groupDataMembers(groupId))).toBe(0);
      // A late release (a duplicate delivery) creates nothing that would never expire.
      await store.releaseMember(groupId, 1);
      expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
    });
  });

  describe('extend-group-data.lua', () => {
    it('keeps the shared data for the retention from now, never shortening it and never reviving it', async () => {
      const groupId = await written('g', 1);
      await redis.pexpire(keys.groupData(groupId), 1000);
      await redis.pexpire(keys.groupDataMembers(groupId), 1000);
      await store.keep(groupId);
      expect(await redis.pttl(keys.groupData(groupId))).toBeGreaterThan(7 * DAY_MS - 60_000);
      expect(await redis.pttl(keys.groupDataMembers(groupId))).toBeGreaterThan(7 * DAY_MS - 60_000);

      await redis.pexpire(keys.groupData(groupId), 30 * DAY_MS);
      await store.keep(groupId);
      expect(await redis.pttl(keys.groupData(groupId))).toBeGreaterThan(29 * DAY_MS);

      await redis.del(keys.groupData(groupId), keys.groupDataMembers(groupId));
      await store.keep(groupId);
      expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
    });
  });

  it('discards the data of groups that could not be queued', async () => {
    await written('a', 2);
    await written('b', 2);
    await store.discard(['a', 'b']);
    await store.discard([]);
    expect(await redis.dbsize()).toBe(0);
  });
});
