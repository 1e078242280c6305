import type { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { DailyQuotaStore } from './daily-quota.store';

const NOW = Date.parse('2026-05-01T18:00:00Z');

function storeAnswering(reply: [0 | 1, number]) {
  const client = {
    freefaceTakeDailyQuota: jest.fn(() => Promise.resolve(reply)),
    decrby: jest.fn(() => Promise.resolve(0)),
  };
  const config = {
    auth: { services: [{ service: 'billing', dailyQuota: 100 }, { service: 'ops' }] },
  } as unknown as AppConfig;
  const store = new DailyQuotaStore({ client } as unknown as RedisConnections, new RedisKeys('{t}'), config);
  return { store, client };
}

describe('DailyQuotaStore', () => {
  it('asks Redis nothing for a service without a quota, or for no email', async () => {
    const { store, client } = storeAnswering([1, 1]);
    expect(await store.take('ops', 5, NOW)).toBeUndefined();
    expect(await store.take('billing', 0, NOW)).toBeUndefined();
    expect(client.freefaceTakeDailyQuota).not.toHaveBeenCalled();
  });

  it("takes the emails from the day's counter, which lives two days", async () => {
    const { store, client } = storeAnswering([1, 12]);
    const reservation = await store.take('billing', 10, NOW);
    expect(client.freefaceTakeDailyQuota).toHaveBeenCalledWith(
      '{t}:daily-quota:billing:2026-05-01',
      10,
      100,
      172_800_000,
    );
    await reservation!.release();
    expect(client.decrby).toHaveBeenCalledWith('{t}:daily-quota:billing:2026-05-01', 10);
  });

  it('refuses what does not fit with 429 and Retry-After until midnight UTC', async () => {
    const { store } = storeAnswering([0, 95]);
    const error = await store.take('billing', 10, NOW).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProblemError);
    const problem = error as ProblemError;
    expect(problem.getStatus()).toBe(429);
    expect(problem.headers).toEqual({ 'retry-after': String(6 * 3600) });
    expect(problem.detail).toContain('These 10 emails would exceed the daily quota of 100 emails');
  });
});
