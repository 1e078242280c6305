import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import type { WebhookQueue } from '../queue/webhook-queue';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SLOT_LEASE_MS, WebhookEndpointGate } from './webhook-endpoint-gate';

const keys = new RedisKeys('{gate-test}');
const ENDPOINT = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';
const OTHER = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4e';

/** The queue's side of a wake, played by the test: what each job is, and which were woken. */
class FakeQueue {
  woken: string[] = [];
  states = new Map<string, ('woken' | 'running' | 'gone')[]>();

  wake(jobId: string): Promise<'woken' | 'running' | 'gone'> {
    this.woken.push(jobId);
    return Promise.resolve(this.states.get(jobId)?.shift() ?? 'woken');
  }
}

/** Its scripts: admit-to-endpoint.lua, release-endpoint-slot.lua and resume-endpoint.lua. */
describe('WebhookEndpointGate (real Redis)', () => {
  let server: PrivateRedis;
  let redis: Redis;
  let queue: FakeQueue;
  let gate: WebhookEndpointGate;

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
  });
  beforeEach(async () => {
    await redis.flushall();
    queue = new FakeQueue();
    gate = new WebhookEndpointGate(
      { client: redis } as unknown as RedisConnections,
      keys,
      queue as unknown as WebhookQueue,
      { setContext: () => undefined, warn: () => undefined } as unknown as AppLogger,
      { webhooks: { endpointConcurrency: 2, pauseAfterTimeouts: 3 } } as AppConfig,
    );
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('admits up to the limit at once, puts the rest in line and gives a freed slot to the oldest delivery', async () => {
    expect(await gate.admit(ENDPOINT, 'j1', 100)).toBe('admitted');
    expect(await gate.admit(ENDPOINT, 'j2', 200)).toBe('admitted');
    expect(await gate.admit(ENDPOINT, 'j3', 400)).toBe('waiting');
    expect(await gate.admit(ENDPOINT, 'j4', 300)).toBe('waiting');
    // Coming back before its turn keeps its place (and takes no second one).
    expect(await gate.admit(ENDPOINT, 'j3', 400)).toBe('waiting');
    expect(await redis.zrange(keys.webhookLine(ENDPOINT), 0, -1)).toEqual(['j4', 'j3']);
    // Another endpoint has slots of its own.
    expect(await gate.admit(OTHER, 'k1', 500)).toBe('admitted');
    expect(queue.woken).toEqual([]);

    expect(await gate.release(ENDPOINT, 'j1', 'answered')).toBeUndefined();
    expect(queue.woken).toEqual(['j4']);
    // j4 was handed j1's slot: it may send when its job runs; j3 still waits, and so does a newcomer.
    expect(await gate.admit(ENDPOINT, 'j5', 50)).toBe('waiting');
    expect(await gate.admit(ENDPOINT, 'j4', 300)).toBe('admitted');
    expect(await redis.zrange(keys.webhookSlots(ENDPOINT), 0, -1)).toEqual(['j2', 'j4']);

    await gate.release(ENDPOINT, 'j2', 'other');
    expect(queue.woken).toEqual(['j4', 'j5']);
  });

  it('never admits more than the limit when many ask at once', async () => {
    const verdicts = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gate.admit(ENDPOINT, `j${i}`, i)),
    );
    expect(verdicts.filter((v) => v === 'admitted')).toHaveLength(2);
    expect(await redis.zcard(keys.webhookLine(ENDPOINT))).toBe(28);
  });

  it("holds a slot for SLOT_LEASE_MS only: a killed worker's slot comes back", async () => {
    const before = Date.now();
    await gate.admit(ENDPOINT, 'j1', 1);
    await gate.admit(ENDPOINT, 'j2', 2);
    const lease = Number(await redis.zscore(keys.webhookSlots(ENDPOINT), 'j1'));
    expect(lease).toBeGreaterThanOrEqual(before + SLOT_LEASE_MS - 1000);
    expect(lease).toBeLessThanOrEqual(Date.now() + SLOT_LEASE_MS + 1000);
    expect(await gate.admit(ENDPOINT, 'j3', 3)).toBe('waiting');
    // j1's worker was killed: its lease runs out.
    await redis.zadd(keys.webhookSlots(ENDPOINT), Date.now() - 1, 'j1');
    expect(await gate.admit(ENDPOINT, 'j4', 4)).toBe('waiting');
    expect(queue.woken).toEqual(['j3']);
    // A job run again after its worker died finds its own slot, if it has not lapsed.
    expect(await gate.admit(ENDPOINT, 'j2', 2)).toBe('admitted');
  });

  it('pauses after the threshold of timeouts in a row; an answer in between starts the count again', async () => {
    await gate.admit(ENDPOINT, 'j1', 1);
    await gate.admit(OTHER, 'k1', 1);
    expect(await gate.release(ENDPOINT, 'j1', 'timeout')).toBeUndefined();
    expect(await gate.release(ENDPOINT, 'j1', 'timeout')).toBeUndefined();
    expect(await gate.release(ENDPOINT, 'j1', 'answered')).toBeUndefined();
    expect(await gate.release(ENDPOINT, 'j1', 'timeout')).toBeUndefined();
    expect(await gate.release(ENDPOINT, 'j1', 'other')).toBeUndefined();
    expect(await gate.release(ENDPOINT, 'j1', 'timeout')).toBeUndefined();
    expect((await gate.health([ENDPOINT])).get(ENDPOINT)).toEqual({});

    const before = Date.now();
    const pausedAt = await gate.release(ENDPOINT, 'j1', 'timeout');
    expect(pausedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(await gate.release(ENDPOINT, 'j2', 'timeout')).toBeUndefined();
    expect((await gate.health([ENDPOINT, OTHER])).get(ENDPOINT)).toEqual({
      pausedAt,
      pausedReason: 'no answer within 10 s to 3 attempts in a row',
    });
    expect((await gate.health([OTHER])).get(OTHER)).toEqual({});
    expect(await redis.smembers(keys.pausedWebhookEndpoints())).toEqual([ENDPOINT]);
    expect(await gate.pausedCount()).toBe(1);
  });

  it('holds every delivery of a paused endpoint, and resuming hands slots to the held, oldest first', async () => {
    await gate.admit(ENDPOINT, 'j1', 10);
    for (let i = 0; i < 3; i++) await gate.release(ENDPOINT, `t${i}`, 'timeout');
    // j2 was handed a slot just before the pause: it gives it up when its job runs.
    await redis.zadd(keys.webhookSlots(ENDPOINT), Date.now() + 60_000, 'j2');
    expect(await gate.admit(ENDPOINT, 'j2', 20)).toBe('held');
    expect(await gate.admit(ENDPOINT, 'j3', 5)).toBe('held');
    expect(await gate.admit(ENDPOINT, 'j4', 30)).toBe('held');
    // The attempt in flight at the pause ends: nothing is handed out while paused.
    await gate.release(ENDPOINT, 'j1', 'answered');
    expect(queue.woken).toEqual([]);
    expect(await redis.zcard(keys.webhookSlots(ENDPOINT))).toBe(0);

    expect(await gate.resume(ENDPOINT)).toEqual({ held: 3 });
    expect(queue.woken).toEqual(['j3', 'j2']);
    expect((await gate.health([ENDPOINT])).get(ENDPOINT)).toEqual({});
    expect(await redis.scard(keys.pausedWebhookEndpoints())).toBe(0);
    expect(await gate.resume(ENDPOINT)).toBeUndefined();
    // The count of timeouts starts again from zero.
    await gate.release(ENDPOINT, 'j3', 'timeout');
    await gate.release(ENDPOINT, 'j2', 'timeout');
    expect((await gate.health([ENDPOINT])).get(ENDPOINT)).toEqual({});
    expect(queue.woken).toEqual(['j3', 'j2', 'j4']);
  });

  it('gives the slot of a job that no longer exists on to the next in line', async () => {
    await gate.admit(ENDPOINT, 'j1', 1);
    await gate.admit(ENDPOINT, 'j2', 2);
    await gate.admit(ENDPOINT, 'gone', 3);
    await gate.admit(ENDPOINT, 'j4', 4);
    queue.states.set('gone', ['gone']);
    await gate.release(ENDPOINT, 'j1', 'answered');
    expect(queue.woken).toEqual(['gone', 'j4']);
    expect(await redis.zrange(keys.webhookSlots(ENDPOINT), 0, -1)).toEqual(['j2', 'j4']);
    expect(await redis.zcard(keys.webhookLine(ENDPOINT))).toBe(0);
  });

  it('looks again at a job that was still running when it was handed a slot', async () => {
    await gate.admit(ENDPOINT, 'j1', 1);
    await gate.admit(ENDPOINT, 'j2', 2);
    await gate.admit(ENDPOINT, 'j3', 3);
    queue.states.set('j3', ['running', 'running', 'woken']);
    await gate.release(ENDPOINT, 'j1', 'answered');
    const started = Date.now();
    while (queue.woken.length < 3 && Date.now() - started < 5_000)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(queue.woken).toEqual(['j3', 'j3', 'j3']);
  });

  it('forgets everything of a deleted endpoint, and an attempt that ends afterwards leaves nothing behind', async () => {
    await gate.admit(ENDPOINT, 'j1', 1);
    await gate.admit(ENDPOINT, 'j2', 2);
    for (let i = 0; i < 3; i++) await gate.release(ENDPOINT, `t${i}`, 'timeout');
    await gate.admit(ENDPOINT, 'j3', 3);
    await gate.forget(ENDPOINT);
    expect(await redis.keys('*')).toEqual([]);
    expect(await gate.release(ENDPOINT, 'j1', 'timeout')).toBeUndefined();
    await gate.release(ENDPOINT, 'j2', 'answered');
    expect(await redis.keys('*')).toEqual([]);
    expect((await gate.health([ENDPOINT])).get(ENDPOINT)).toEqual({});
  });
});
