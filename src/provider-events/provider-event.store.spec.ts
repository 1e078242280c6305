import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { ProviderEvent } from './provider-event';
import { ProviderEventStore } from './provider-event.store';

const EMAIL = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

const event = (eventId: string, kind: ProviderEvent['kind']): ProviderEvent => ({
  provider: 'mailgun',
  eventId,
  kind,
  emailId: EMAIL,
  recipient: 'ana@example.com',
});

describe.each([1, 3])(
  'ProviderEventStore and apply-provider-event.lua, %i partition(s) (real Redis)',
  (partitions) => {
    const keys = new RedisKeys('{provider-event-test}', partitions);
    let server: PrivateRedis;
    let redis: Redis;
    let store: ProviderEventStore;

    beforeAll(async () => {
      server = await PrivateRedis.start();
      redis = new Redis(server.url);
      store = new ProviderEventStore({ client: redis } as unknown as RedisConnections, keys);
    });

    beforeEach(async () => {
      await redis.flushall();
      await redis.hset(keys.email(EMAIL), { status: 'sent', service: 'billing' });
    });

    afterAll(async () => {
      redis.disconnect();
      await server.stop();
    });

    it('moves a sent email forward, once per event id, remembering the id for days', async () => {
      expect(await store.apply(event('e1', 'delivered'), 1000)).toEqual({
        kind: 'applied',
        previousStatus: 'sent',
        statusChanged: true,
        service: 'billing',
      });
      expect(await redis.hmget(keys.email(EMAIL), 'status', 'reportedAt')).toEqual(['delivered', '1000']);
      expect(await store.apply(event('e1', 'bounced'), 2000)).toEqual({ kind: 'duplicate' });
      expect(await redis.hget(keys.email(EMAIL), 'status')).toBe('delivered');
      expect(await redis.pttl(keys.providerEvent(EMAIL, 'mailgun', 'e1'))).toBeGreaterThan(2 * 86_400_000);
    });

    it('never moves a status back: a bounce stays a bounce after another recipient is delivered', async () => {
      await store.apply(event('e1', 'bounced'), 1000);
      expect(await store.apply(event('e2', 'delivered'), 2000)).toEqual({
        kind: 'applied',
        previousStatus: 'bounced',
        statusChanged: false,
        service: 'billing',
      });
      expect(await store.apply(event('e3', 'complained'), 3000)).toMatchObject({ statusChanged: false });
      expect(await redis.hget(keys.email(EMAIL), 'status')).toBe('bounced');
    });

    it('leaves an email that was never sent as it is, and knows no email that is gone', async () => {
      await redis.hset(keys.email(EMAIL), 'status', 'queued');
      expect(await store.apply(event('e1', 'delivered'), 1000)).toMatchObject({
        previousStatus: 'queued',
        statusChanged: false,
      });
      await redis.del(keys.email(EMAIL));
      expect(await store.apply(event('e2', 'delivered'), 1000)).toEqual({ kind: 'unknown-email' });
      expect(await redis.exists(keys.providerEvent(EMAIL, 'mailgun', 'e2'))).toBe(0);
    });

    it("finds our email by a provider's id of its message, where delivery kept one", async () => {
      await redis.set(keys.providerMessage('ses', 'ses-1', keys.partitionOf(EMAIL)), EMAIL);
      expect(await store.emailIdOfProviderMessage('ses', 'ses-1')).toBe(EMAIL);
      expect(await store.emailIdOfProviderMessage('ses', 'ses-2')).toBeUndefined();
    });
  },
);
