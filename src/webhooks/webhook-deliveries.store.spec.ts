import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { WebhookDeliveriesStore, type NewDelivery } from './webhook-deliveries.store';

const keys = new RedisKeys('{deliveries-test}');
const DELIVERY: NewDelivery = {
  id: '019b7a52-7d00-7a3a-9f2b-8e4c1a2b3c4d',
  webhookId: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d',
  eventId: '019b7a52-7cff-7a3a-9f2b-8e4c1a2b3c4d',
  type: 'email.sent',
  emailId: '019b7a52-6000-7d3a-9f2b-8e4c1a2b3c4d',
  payload: '{"type":"email.sent"}',
};

describe('WebhookDeliveriesStore and create-delivery.lua (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let store: WebhookDeliveriesStore;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    store = new WebhookDeliveriesStore({ client: redis } as unknown as RedisConnections, keys, {
      email: { auditRetentionDays: 30 },
    } as AppConfig);
  });
  beforeEach(() => redis.flushall());
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('records a delivery as pending, then moves it between the status lists as attempts go', async () => {
    await store.createMany([DELIVERY], 1_000);
    const pending = (await store.find(DELIVERY.id, true))!;
    expect(pending).toMatchObject({
      status: 'pending',
      attempts: 0,
      payload: DELIVERY.payload,
      createdAt: 1_000,
    });
    expect(await redis.pttl(keys.webhookDelivery(DELIVERY.id))).toBeGreaterThan(29 * 86_400_000);

    await store.recordAttempt(pending, {
      ok: false,
      error: 'HTTP 503',
      responseStatus: 503,
      nextAttemptAt: 9_000,
    });
    expect((await store.page(DELIVERY.webhookId, 'pending', 10)).items).toMatchObject([
      { status: 'pending', attempts: 1, lastError: 'HTTP 503', responseStatus: 503, nextAttemptAt: 9_000 },
    ]);
    await store.recordAttempt(pending, { ok: false, error: 'ECONNREFUSED: connect' });
    const failed = (await store.find(DELIVERY.id))!;
    expect(failed).toMatchObject({ status: 'failed', attempts: 2, lastError: 'ECONNREFUSED: connect' });
    // No HTTP status this time, and no retry due: those of the attempt before do not linger.
    expect(failed.responseStatus).toBeUndefined();
    expect(failed.nextAttemptAt).toBeUndefined();
    expect(await store.page(DELIVERY.webhookId, 'pending', 10)).toEqual({ items: [] });

    expect(await store.reopen(failed)).toBe(true);
    await store.recordAttempt({ ...failed, status: 'pending' }, { ok: true, responseStatus: 204 });
    const succeeded = (await store.find(DELIVERY.id, true))!;
    expect(succeeded).toMatchObject({ status: 'succeeded', attempts: 3, responseStatus: 204 });
    expect(succeeded.payload).toBeUndefined();
    expect(succeeded.lastError).toBeUndefined();
    expect((await store.page(DELIVERY.webhookId, undefined, 10)).items.map((d) => d.id)).toEqual([
      DELIVERY.id,
    ]);
    expect(await store.page(DELIVERY.webhookId, 'failed', 10)).toEqual({ items: [] });
    expect(await store.reopen(succeeded)).toBe(false);
  });

  it('leaves a delivery already recorded untouched when its batch is queued again', async () => {
    await store.createMany([DELIVERY], 1_000);
    await store.recordAttempt((await store.find(DELIVERY.id))!, { ok: true, responseStatus: 200 });
    await store.createMany([DELIVERY], 2_000);
    expect(await store.find(DELIVERY.id, true)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      createdAt: 1_000,
    });
    expect(await store.page(DELIVERY.webhookId, 'pending', 10)).toEqual({ items: [] });
  });

  it("counts an endpoint's deliveries by status, and forgets its lists when it is deleted", async () => {
    const other = { ...DELIVERY, id: '019b7a52-7d00-7a3a-9f2b-8e4c1a2b3c4e' };
    await store.createMany([DELIVERY, other], 1_000);
    await store.recordAttempt((await store.find(other.id))!, { ok: true, responseStatus: 200 });
    expect(await store.countByStatus([DELIVERY.webhookId, 'no-such-endpoint'])).toEqual({
      pending: 1,
      succeeded: 1,
      failed: 0,
    });
    expect(await store.countByStatus([])).toEqual({ pending: 0, succeeded: 0, failed: 0 });

    await store.forgetEndpoint(DELIVERY.webhookId);
    expect(await store.page(DELIVERY.webhookId, undefined, 10)).toEqual({ items: [] });
    expect(await redis.keys(`{deliveries-test}:webhook-endpoint:*`)).toEqual([]);
    // The records themselves expire with the retention.
    expect(await store.find(DELIVERY.id)).toBeDefined();
  });
});
