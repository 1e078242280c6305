import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { ProviderStateStore } from './provider-state.store';
import { parseRateLimit } from '../common/rate';

const keys = new RedisKeys('{provider-state-test}');
const COOLDOWN_MS = 30_000;

describe('ProviderStateStore (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let store: ProviderStateStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    store = new ProviderStateStore({ client: redis } as unknown as RedisConnections, keys, {
      providers: {
        rateLimits: { smtp: parseRateLimit('10/s', '5')! },
        circuit: { failureThreshold: 3, cooldownMs: COOLDOWN_MS },
      },
    } as unknown as AppConfig);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  describe('record-provider-failure.lua', () => {
    it('opens the circuit for the cool-down at the threshold of failures in a row', async () => {
      expect(await store.recordFailure('smtp')).toBe(0);
      expect(await store.recordFailure('smtp')).toBe(0);
      const before = Date.now();
      const openUntil = await store.recordFailure('smtp');
      expect(openUntil).toBeGreaterThanOrEqual(before + COOLDOWN_MS - 1000);
      expect(openUntil).toBeLessThanOrEqual(Date.now() + COOLDOWN_MS + 1000);
      expect(await redis.hmget(keys.circuit('smtp'), 'failures', 'opened')).toEqual(['0', '1']);
      // Another provider counts on its own.
      expect(await redis.exists(keys.circuit('sendgrid'))).toBe(0);
    });

    it('opens it again at once when the trial send after the cool-down fails', async () => {
      await redis.hset(keys.circuit('smtp'), { openUntil: Date.now() - 1, trialUntil: Date.now() + 30_000 });
      expect(await store.recordFailure('smtp')).toBeGreaterThan(Date.now());
      expect(await redis.hexists(keys.circuit('smtp'), 'trialUntil')).toBe(0);
    });
  });

  describe('provider-states.lua', () => {
    it('tells a closed, an open and a half-open circuit apart', async () => {
      const openUntil = Date.now() + 60_000;
      await redis.hset(keys.circuit('sendgrid'), { openUntil, failures: 0, opened: 2 });
      await redis.hset(keys.circuit('mailgun'), { openUntil: Date.now() - 1000, failures: 1, opened: 1 });
      await redis.hset(keys.circuit('smtp'), 'failures', 2);
      const states = await store.states(['smtp', 'sendgrid', 'mailgun']);
      expect(states.get('smtp')?.circuit).toEqual({
        state: 'closed',
        consecutiveFailures: 2,
        openUntil: null,
        timesOpened: 0,
      });
      expect(states.get('sendgrid')?.circuit).toEqual({
        state: 'open',
        consecutiveFailures: 0,
        openUntil: new Date(openUntil).toISOString(),
        timesOpened: 2,
      });
      expect(states.get('mailgun')?.circuit.state).toBe('half-open');
    });

    it("gives a limited provider's tokens refilled to now, and none for a provider without a limit", async () => {
      expect((await store.states(['smtp', 'sendgrid'])).get('smtp')?.tokens).toBe(5);
      expect((await store.states(['sendgrid'])).get('sendgrid')).not.toHaveProperty('tokens');

      // 0.5 tokens a second ago, refilled at 10 a second: 5 (the burst) now.
      await redis.hset(keys.rateBucket('smtp'), { tokens: '0.5', updatedAt: Date.now() - 1000 });
      expect((await store.states(['smtp'])).get('smtp')?.tokens).toBe(5);
      // Just taken: 2.5 and a little more.
      await redis.hset(keys.rateBucket('smtp'), { tokens: '2.5', updatedAt: Date.now() });
      const tokens = (await store.states(['smtp'])).get('smtp')?.tokens;
      expect(tokens).toBeGreaterThanOrEqual(2.5);
      expect(tokens).toBeLessThan(4);
    });
  });
});
