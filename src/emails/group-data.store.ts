import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import type { SharedGroupData } from './email-record';

const DAY_MS = 86_400_000;

type GroupDataKeys = [data: string, members: string];
const EXTEND = loadScript<GroupDataKeys, [lifetimeMs: number], null>(__dirname, 'extend-group-data.lua');
const RELEASE = loadScript<GroupDataKeys, [member: number], 0 | 1>(__dirname, 'release-group-data.lua');

/**
 * A group notification's shared template data, kept once for the group, with a bitmap of the emails that may
 * still need it (one bit each, by its place in the group): it goes when the last of them is sent, or expires
 * no sooner than any of their messages.
 */
@Injectable()
export class GroupDataStore {
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  private readonly extendLifetime: ScriptCommand<GroupDataKeys, [lifetimeMs: number], null>;
  private readonly releaseBit: ScriptCommand<GroupDataKeys, [member: number], 0 | 1>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    this.extendLifetime = scriptCommand(this.redis, EXTEND);
    this.releaseBit = scriptCommand(this.redis, RELEASE);
  }

  /**
   * The shared data and one set bit per member, living `ttlMs`. Plain commands rather than a script, so that
   * they reach Redis in the order issued (before the group's emails, written right after on the same
   * connection) even when a script must first be loaded. Should only the data be written, it is never
   * released but still expires.
   */
  async write(shared: SharedGroupData, ttlMs: number): Promise<void> {
    await Promise.all([
      this.redis.set(this.keys.groupData(shared.groupId), shared.data.json, 'PX', ttlMs),
      this.redis.set(this.keys.groupDataMembers(shared.groupId), memberBits(shared.members), 'PX', ttlMs),
    ]);
  }

  /** A group's shared data, or undefined when it is gone (expired, or every email of the group was sent). */
  async find(groupId: string): Promise<Record<string, unknown> | undefined> {
    const json = await this.redis.get(this.keys.groupData(groupId));
    return json === null ? undefined : (JSON.parse(json) as Record<string, unknown>);
  }

  /**
   * Keeps a group's shared data for the retention from now, as a failed attempt keeps its email's message
   * (for a retry), so that the data never goes before a message that needs it.
   */
  async keep(groupId: string): Promise<void> {
    await this.extendLifetime(this.keysOf(groupId), [this.retentionMs]);
  }

  /** Tells the group that one of its emails no longer needs the shared data (sent, or suppressed). */
  async releaseMember(groupId: string, member: number): Promise<void> {
    await this.releaseBit(this.keysOf(groupId), [member]);
  }

  /** Drops the shared data of groups whose emails could not be queued (nothing refers to it yet). */
  async discard(groupIds: Iterable<string>): Promise<void> {
    const keys = [...groupIds].flatMap((groupId) => this.keysOf(groupId));
    if (keys.length > 0) await this.redis.del(...keys);
  }

  private keysOf(groupId: string): GroupDataKeys {
    return [this.keys.groupData(groupId), this.keys.groupDataMembers(groupId)];
  }
}

/** A bitmap with bits 0 to count - 1 set (Redis numbers a string's bits from the first byte's highest bit). */
function memberBits(count: number): Buffer {
  const bits = Buffer.alloc(Math.ceil(count / 8), 0xff);
  if (count % 8 !== 0) bits[bits.length - 1] = (0xff << (8 - (count % 8))) & 0xff;
  return bits;
}
