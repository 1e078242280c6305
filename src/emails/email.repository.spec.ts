import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import { sizedJson } from '../common/data-limit';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { composeGroupMessage } from './email-composer';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import { EmailRepository } from './email.repository';

const DAY_MS = 86_400_000;
const keys = new RedisKeys('{repository-test}');

/** A group of `count` emails referring to one shared data, accepted at `now`, due at `sendAt`. */
function group(count: number, now: number, sendAt?: number): NewEmail[] {
  const shared: SharedGroupData = {
    groupId: `group-${now}`,
    data: sizedJson({ product: 'FreeFace', notes: 'shared notes' }),
    members: count,
  };
  return Array.from({ length: count }, (_, member) => {
    const record: EmailRecord = {
      id: `email-${now}-${member}`,
      status: sendAt ? 'scheduled' : 'queued',
      priority: 'medium',
      service: 'billing',
      createdAt: now,
      ...(sendAt ? { sendAt } : {}),
      attempts: 0,
      maxAttempts: 3,
      groupId: shared.groupId,
      to: [`m${member}@example.com`],
      subject: 'Hello',
      tags: [],
      metadata: {},
    };
    const message = composeGroupMessage(
      { email: `m${member}@example.com` },
      { email: 'noreply@x.example' },
      'Hi',
      {
        template: 'digest',
        data: { name: `M${member}` },
        shared: { groupId: shared.groupId, member },
      },
    );
    return { record, message, shared };
  });
}

describe("EmailRepository: a group's shared data (real Redis)", () => {
  let server: PrivateRedis;
  let redis: Redis;
  let repository: EmailRepository;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    repository = new EmailRepository({ client: redis } as unknown as RedisConnections, keys, {
      email: { retentionDays: 7 },
    } as AppConfig);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('writes the shared data once, before the records, with one bit per member, living as long as they do', async () => {
    const now = Date.now();
    const emails = group(13, now, now + 3_600_000);
    const sent = jest.spyOn(redis, 'sendCommand');
    await repository.createMany(emails);
    // Issued ahead of every record on the one connection: Redis has it before any email (or job) exists.
    expect(sent.mock.calls.slice(0, 2).map(([command]) => command.name)).toEqual(['set', 'set']);
    sent.mockRestore();

    const { groupId } = emails[0]!.shared!;
    expect(await redis.get(keys.groupData(groupId))).toBe('{"product":"FreeFace","notes":"shared notes"}');
    expect(await redis.bitcount(keys.groupDataMembers(groupId))).toBe(13);
    expect(await redis.getbit(keys.groupDataMembers(groupId), 12)).toBe(1);
    expect(await redis.strlen(keys.groupDataMembers(groupId))).toBe(2);
    for (const key of [
      keys.groupData(groupId),
      keys.groupDataMembers(groupId),
      keys.emailMessage(emails[0]!.record.id),
    ]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(7 * DAY_MS + 3_500_000);
      expect(ttl).toBeLessThanOrEqual(7 * DAY_MS + 3_600_000);
    }
    // Each email keeps its own data and the reference, never the shared data.
    const message = await redis.get(keys.emailMessage(emails[3]!.record.id));
    expect(JSON.parse(message!).render).toEqual({
      template: 'digest',
      data: { name: 'M3' },
      shared: { groupId, member: 3 },
    });
    expect(await repository.sharedData(groupId)).toEqual({ product: 'FreeFace', notes: 'shared notes' });
  });

  it('drops the shared data when the last member releases it; a release twice counts once', async () => {
    const emails = group(3, Date.now());
    await repository.createMany(emails);
    const { groupId } = emails[0]!.shared!;
    await repository.releaseSharedData(groupId, 0);
    await repository.releaseSharedData(groupId, 0);
    await repository.releaseSharedData(groupId, 2);
    expect(await repository.sharedData(groupId)).toBeDefined();
    await repository.releaseSharedData(groupId, 1);
    expect(await repository.sharedData(groupId)).toBeUndefined();
    expect(await redis.exists(keys.groupDataMembers(groupId))).toBe(0);
    // A late release (a duplicate delivery) creates nothing that would never expire.
    await repository.releaseSharedData(groupId, 1);
    expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
  });

  it('keeps the shared data for the retention from now, never shortening it and never reviving it', async () => {
    const now = Date.now();
    const [email] = group(1, now);
    const { groupId } = email!.shared!;
    await repository.createMany([email!]);
    await redis.pexpire(keys.groupData(groupId), 1000);
    await redis.pexpire(keys.groupDataMembers(groupId), 1000);
    await repository.keepSharedData(groupId);
    expect(await redis.pttl(keys.groupData(groupId))).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(await redis.pttl(keys.groupDataMembers(groupId))).toBeGreaterThan(7 * DAY_MS - 60_000);

    await redis.pexpire(keys.groupData(groupId), 30 * DAY_MS);
    await repository.keepSharedData(groupId);
    expect(await redis.pttl(keys.groupData(groupId))).toBeGreaterThan(29 * DAY_MS);

    await redis.del(keys.groupData(groupId), keys.groupDataMembers(groupId));
    await repository.keepSharedData(groupId);
    expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
  });

  it('discards the shared data with the records of a group that could not be queued', async () => {
    const emails = group(2, Date.now());
    await repository.createMany(emails);
    await repository.discard(emails.map((e) => e.record));
    const { groupId } = emails[0]!.shared!;
    expect(await redis.exists(keys.groupData(groupId), keys.groupDataMembers(groupId))).toBe(0);
    expect(await redis.exists(keys.email(emails[0]!.record.id))).toBe(0);
  });
});
