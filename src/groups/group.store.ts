import { Injectable } from '@nestjs/common';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

export interface GroupMember {
  email: string;
  name?: string;
  data?: Record<string, unknown>;
}

export interface StoredGroup {
  members: GroupMember[];
  updatedAt: number;
}

/**
 * Named recipient groups: each a JSON value under its own key, plus a sorted set of names (all scored 0, so
 * they list in name order with ZRANGE BYLEX) for listing. Groups do not expire: an admin owns them.
 */
@Injectable()
export class GroupStore {
  constructor(
    private readonly redis: RedisConnections,
    private readonly keys: RedisKeys,
  ) {}

  async put(name: string, group: StoredGroup): Promise<boolean> {
    const [[, created]] = (await this.redis.client
      .multi()
      .zadd(this.keys.groupNames(), 0, name)
      .set(this.keys.group(name), JSON.stringify(group))
      .exec()) as [[Error | null, number]];
    return created === 1;
  }

  async get(name: string): Promise<StoredGroup | undefined> {
    const value = await this.redis.client.get(this.keys.group(name));
    return value === null ? undefined : (JSON.parse(value) as StoredGroup);
  }

  async delete(name: string): Promise<boolean> {
    const results = await this.redis.client
      .multi()
      .del(this.keys.group(name))
      .zrem(this.keys.groupNames(), name)
      .exec();
    return results?.[0]?.[1] === 1;
  }

  /** Names in order, after `after` (exclusive), at most `limit`, with each group's size and last change. */
  async list(limit: number, after?: string): Promise<{ name: string; count: number; updatedAt: number }[]> {
    const names = await this.redis.client.zrangebylex(
      this.keys.groupNames(),
      after ? `(${after}` : '-',
      '+',
      'LIMIT',
      0,
      limit,
    );
    if (names.length === 0) return [];
    const values = await this.redis.client.mget(...names.map((name) => this.keys.group(name)));
    return names.flatMap((name, i) => {
      const value = values[i];
      if (!value) return [];
      const group = JSON.parse(value) as StoredGroup;
      return [{ name, count: group.members.length, updatedAt: group.updatedAt }];
    });
  }
}
