import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../../test/support/ports';
import { RedisNode } from '../../test/support/redis-topologies';
import { RedisUnavailableError } from '../common/redis-unavailable.error';
import type { AppConfig } from '../config/app-config';
import type { RedisConnections } from './redis-connections';
import { RedisKeys } from './redis-keys';
import { REPLICATION_TIMEOUT_MS, ReplicationBarrier } from './replication-barrier';

const barrier = (client: Redis, waitReplicas: number) =>
  new ReplicationBarrier(
    { redis: { waitReplicas } } as AppConfig,
    { client } as unknown as RedisConnections,
    new RedisKeys('{barrier-test}'),
  );

const waitCalls = async (client: Redis) =>
  Number(/cmdstat_wait:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);

describe('ReplicationBarrier (a real primary and replica)', () => {
  let primary: RedisNode;
  let replica: RedisNode;
  let client: Redis;

  beforeAll(async () => {
    const [primaryPort, replicaPort] = [await freePort(), await freePort()];
    const root = mkdtempSync(join(tmpdir(), 'freeface-barrier-'));
    const dir = (name: string) => join(root, name);
    const args = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];
    primary = new RedisNode(primaryPort, args(primaryPort), dir('primary'));
    replica = new RedisNode(
      replicaPort,
      [...args(replicaPort), '--replicaof', '127.0.0.1', String(primaryPort)],
      dir('replica'),
    );
    await primary.start();
    await replica.start();
    client = new Redis(primaryPort, '127.0.0.1');
    while ((await client.wait(1, 100)) < 1);
  });

  afterAll(async () => {
    client.disconnect();
    await Promise.all([replica.kill(), primary.kill()]);
  });

  beforeEach(() => client.config('RESETSTAT'));

  it('sends no WAIT when no replica is asked for', async () => {
    await barrier(client, 0).confirm();
    expect(await waitCalls(client)).toBe(0);
  });

  it('confirms a write once the replica has it', async () => {
    const confirmation = barrier(client, 1);
    await client.set('{barrier-test}:k', 'v');
    await confirmation.confirm();
    const onReplica = replica.client();
    expect(await onReplica.get('{barrier-test}:k')).toBe('v');
    onReplica.disconnect();
  });

  it('serves 200 concurrent callers with a few WAITs, not one each', async () => {
    const confirmation = barrier(client, 1);
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        await client.set(`{barrier-test}:k${i}`, i);
        await confirmation.confirm();
      }),
    );
    expect(await waitCalls(client)).toBeLessThanOrEqual(3);
  });

  it('never has two WAITs in flight, however the callers arrive', async () => {
    const confirmation = barrier(client, 1);
    const send = client.wait.bind(client);
    let inFlight = 0;
    let most = 0;
    jest.spyOn(client, 'wait').mockImplementation(async (...args: Parameters<Redis['wait']>) => {
      most = Math.max(most, ++inFlight);
      try {
        return await send(...args);
      } finally {
        inFlight--;
      }
    });
    try {
      const waves: Promise<void>[] = [];
      for (let wave = 0; wave < 50; wave++) {
        for (let i = 0; i < 4; i++)
          waves.push(client.set(`{barrier-test}:w${wave}-${i}`, i).then(() => confirmation.confirm()));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(waves);
      expect(most).toBe(1);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('answers RedisUnavailableError when the connection drops during a WAIT', async () => {
    const own = new Redis(primary.port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    const confirmation = barrier(own, 1);
    replica.freeze();
    try {
      await own.set('{barrier-test}:dropped', 1);
      const confirmed = confirmation.confirm();
      own.disconnect();
      await expect(confirmed).rejects.toBeInstanceOf(RedisUnavailableError);
    } finally {
      replica.resume();
      own.disconnect();
    }
  });

  it('answers RedisUnavailableError within two timeouts when the replica is gone, and recovers', async () => {
    const confirmation = barrier(client, 1);
    await replica.kill();
    const started = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, async (_, i) => {
        await client.set(`{barrier-test}:gone${i}`, i);
        await confirmation.confirm();
      }),
    );
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof RedisUnavailableError)).toBe(
      true,
    );
    expect(Date.now() - started).toBeLessThan(2 * REPLICATION_TIMEOUT_MS + 1000);
    await replica.start();
    while ((await client.wait(1, 100)) < 1);
    await expect(confirmation.confirm()).resolves.toBeUndefined();
  });
});
