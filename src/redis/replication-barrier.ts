import { Injectable } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { RedisUnavailableError } from '../common/redis-unavailable.error';
import { AppConfig } from '../config/app-config';
import { RedisConnections, type RedisClient } from './redis-connections';
import { RedisKeys } from './redis-keys';

/** How long a WAIT may block before the writes count as not replicated (the bound of a 503 in docs/SCALING.md). */
export const REPLICATION_TIMEOUT_MS = 1000;

/**
 * Makes sure what this process wrote has reached REDIS_WAIT_REPLICAS replicas before it answers for it, so
 * that a failover cannot take an answered write away with the old primary (Redis replicates asynchronously).
 *
 * Redis's WAIT covers every write the connection sent before it, and blocks that connection until it answers.
 * So callers share WAITs: with none in flight a caller sends one; callers arriving meanwhile all wait for the
 * next one, sent as soon as the current one answers (not before: it must follow their writes). At most one WAIT blocks the shared connection, each
 * caller waits for at most two of them, and a burst of accepts costs two WAITs, not one each.
 */
@Injectable()
export class ReplicationBarrier {
  private readonly replicas: number;
  private readonly client: RedisClient;
  /**
   * A key of the shared slot and of each partition's: in a cluster, a WAIT sent with one goes to the primary
   * that holds its slot. One WAIT goes to each primary that holds any of them, whichever took writes: knowing
   * which a coalesced batch wrote would cost more than a WAIT in parallel with the others, and a WAIT per slot
   * would queue several on one node's connection (each up to REPLICATION_TIMEOUT_MS while a replica lags).
   */
  private readonly slotKeys: string[];
  /** Each slot key's slot (CLUSTER KEYSLOT, asked once): which primary holds it is read at each WAIT. */
  private slots?: Promise<number[]>;
  private current?: Promise<void>;
  private queued?: Promise<void>;

  constructor(config: AppConfig, connections: RedisConnections, keys: RedisKeys) {
    this.replicas = config.redis.waitReplicas;
    this.client = connections.client;
    this.slotKeys = [
      keys.partitionLayout(),
      ...keys.partitionNumbers().map((partition) => keys.unfinishedEmails(partition)),
    ];
  }

  /** Whether accepted writes must wait for replicas (REDIS_WAIT_REPLICAS above 0). */
  get isRequired(): boolean {
    return this.replicas > 0;
  }

  /**
   * Resolves once the writes sent before the call are on enough replicas; rejects with RedisUnavailableError
   * (a 503) when they are not within REPLICATION_TIMEOUT_MS, or with the connection's error.
   */
  confirm(): Promise<void> {
    if (this.replicas === 0) return Promise.resolve();
    if (!this.current) return (this.current = this.sendWait());
    const ignore = () => undefined;
    return (this.queued ??= this.current.then(ignore, ignore).then(() => {
      this.queued = undefined;
      return (this.current = this.sendWait());
    }));
  }

  private sendWait(): Promise<void> {
    // With callers queued, `current` stays set until the queued WAIT replaces it, so that no caller arriving in
    // between sends a second WAIT alongside.
    const sent: Promise<void> = this.waitForReplicas().finally(() => {
      if (this.current === sent && !this.queued) this.current = undefined;
    });
    return sent;
  }

  /**
   * Every failure is "not replicated now" (503): the connection dropped mid-WAIT, the server became a replica
   * ("WAIT cannot be used with replica instances"), or it was unblocked by a REPLICAOF.
   */
  private async waitForReplicas(): Promise<void> {
    const acknowledged = await this.wait().catch((error: unknown) => {
      throw new RedisUnavailableError(error);
    });
    if (acknowledged < this.replicas)
      throw new RedisUnavailableError(
        new Error(
          `${acknowledged} of ${this.replicas} replicas had the writes within ${REPLICATION_TIMEOUT_MS} ms`,
        ),
      );
  }

  /** The fewest replicas that acknowledged, over every primary that holds the shared slot or a partition. */
  private async wait(): Promise<number> {
    const client = this.client;
    if (!(client instanceof Cluster)) return client.wait(this.replicas, REPLICATION_TIMEOUT_MS);
    const acknowledged = await Promise.all(
      (await this.onePerPrimary(client)).map(async (slotKey) => {
        const replies = await client
          .pipeline()
          .exists(slotKey)
          .wait(this.replicas, REPLICATION_TIMEOUT_MS)
          .exec();
        const [error, count] = replies?.[1] ?? [new Error('WAIT got no reply')];
        if (error) throw error;
        return count as number;
      }),
    );
    return Math.min(...acknowledged);
  }

  /** A slot key per primary that holds one (all of them while the cluster's slot map is not known yet). */
  private async onePerPrimary(client: Cluster): Promise<string[]> {
    this.slots ??= Promise.all(
      this.slotKeys.map(async (key) => Number(await client.call('CLUSTER', 'KEYSLOT', key))),
    ).catch((error: unknown) => {
      this.slots = undefined;
      throw error;
    });
    const slots = await this.slots;
    const byPrimary = new Map<string, string>();
    this.slotKeys.forEach((key, i) => {
      const primary = client.slots[slots[i]!]?.[0] ?? key;
      if (!byPrimary.has(primary)) byPrimary.set(primary, key);
    });
    return [...byPrimary.values()];
  }
}
