import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { EmailRecord } from '../emails/email-record';
import { EmailStore } from '../emails/email.store';
import { GroupDataStore } from '../emails/group-data.store';
import type { OutboundMessage } from '../providers/outbound-email';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { DeadLetterStore } from './dead-letter.store';

const config = { email: { retentionDays: 7 } } as AppConfig;

describe.each([1, 3])(
  'DeadLetterStore and revive-dead-letter.lua, %i partition(s) (real Redis)',
  (partitions) => {
    const keys = new RedisKeys('{dead-letter-test}', partitions);
    const partitionOf = (id: string) => keys.partitionOf(id);
    let server: PrivateRedis;
    let redis: Redis;
    let emails: EmailStore;
    let deadLetters: DeadLetterStore;

    /** An email accepted at `createdAt`, then dead at `deadAt` after `attempts` attempts through smtp. */
    const dead = async (id: string, createdAt: number, deadAt: number) => {
      const record: EmailRecord = {
        id,
        status: 'queued',
        priority: 'low',
        service: 'billing',
        createdAt,
        attempts: 0,
        maxAttempts: 3,
        to: ['ana@example.com'],
        subject: `Subject ${id}`,
        tags: [],
        metadata: {},
      };
      await emails.createMany([{ record, message: { cc: [], bcc: [] } as unknown as OutboundMessage }]);
      await redis.hset(keys.email(id), {
        status: 'dead',
        attempts: 3,
        provider: 'smtp',
        lastError: '550 no such user',
        deadAt,
        reservedProvider: 'smtp',
        reservedUntil: 1,
      });
      await redis.zadd(keys.deadLetters(partitionOf(id)), deadAt, id);
      await redis.zrem(keys.unfinishedEmails(partitionOf(id)), id);
    };

    beforeAll(async () => {
      server = await PrivateRedis.start();
      redis = new Redis(server.url);
      const connections = { client: redis } as unknown as RedisConnections;
      emails = new EmailStore(connections, keys, new GroupDataStore(connections, keys, config), config);
      deadLetters = new DeadLetterStore(connections, keys, emails);
    });

    beforeEach(() => redis.flushall());

    afterAll(async () => {
      redis.disconnect();
      await server.stop();
    });

    it("lists dead letters newest first, from each email's record, dropping those whose record expired", async () => {
      await dead('a', 1000, 5000);
      await dead('b', 2000, 6000);
      await redis.zadd(keys.deadLetters(partitionOf('expired')), 7000, 'expired');
      expect(await deadLetters.count()).toBe(3);
      const page = await deadLetters.page(10);
      expect(page.items).toEqual([
        {
          id: 'b',
          service: 'billing',
          priority: 'low',
          provider: 'smtp',
          attempts: 3,
          maxAttempts: 3,
          lastError: '550 no such user',
          deadAt: 6000,
          createdAt: 2000,
          to: ['ana@example.com'],
          subject: 'Subject b',
        },
        expect.objectContaining({ id: 'a', deadAt: 5000 }),
      ]);
      expect(await deadLetters.count()).toBe(2);
      expect((await deadLetters.page(10, undefined, 'sendgrid')).items).toEqual([]);
    });

    it('puts a dead email back to queued with fresh attempts, once, as unfinished from now', async () => {
      await dead('a', 1000, 5000);
      expect(await deadLetters.priorityOf('a')).toBe('low');
      expect(await deadLetters.revive('a', 9000)).toEqual({ priority: 'low', service: 'billing' });
      expect(await redis.hmget(keys.email('a'), 'status', 'attempts', 'deadAt', 'reservedProvider')).toEqual([
        'queued',
        '0',
        null,
        null,
      ]);
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf('a')), 'a')).toBe('9000');
      expect(await deadLetters.count()).toBe(0);

      expect(await deadLetters.revive('a', 9500)).toBeUndefined();
      expect(await deadLetters.priorityOf('a')).toBeUndefined();
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf('a')), 'a')).toBe('9000');
    });

    it('takes an email that is no longer dead off the list rather than reviving it', async () => {
      await dead('a', 1000, 5000);
      await redis.hset(keys.email('a'), 'status', 'sent');
      expect(await deadLetters.revive('a', 9000)).toBeUndefined();
      expect(await deadLetters.count()).toBe(0);
      expect(await redis.hget(keys.email('a'), 'status')).toBe('sent');
      expect(await deadLetters.remove('a')).toBe(false);
    });
  },
);
