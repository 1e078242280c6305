import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { EMAIL_QUEUES, PRIORITIES } from './queue-names';
import { RedisConnections, type RedisClient } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

/** Bull's lists and sets of the jobs that have yet to run (Bull 4's key names). */
const BULL_PENDING = ['wait', 'paused', 'delayed', 'active'] as const;

/** What the emails of a layout still hold in Redis: the layout may change only once all are 0. */
export interface LayoutContents {
  unfinished: number;
  deadLetters: number;
  jobs: number;
}

/** The process must not run: Redis holds emails in another number of partitions than REDIS_PARTITIONS. */
export class PartitionLayoutError extends Error {
  constructor(configured: number, recorded: number, contents: LayoutContents) {
    super(
      `REDIS_PARTITIONS=${configured}, but Redis holds emails in ${recorded} partition(s): ` +
        `${contents.unfinished} unfinished, ${contents.deadLetters} dead letters, ${contents.jobs} queued jobs. ` +
        `Start with REDIS_PARTITIONS=${recorded}, or drain first (docs/SCALING.md, "Changing REDIS_PARTITIONS").`,
    );
    this.name = 'PartitionLayoutError';
  }
}

/**
 * The number of partitions the emails are in, kept in Redis (RedisKeys.partitionLayout) so that a process
 * started with another REDIS_PARTITIONS cannot look for emails where they are not: it would neither deliver
 * nor find the ones written under the other layout. A new number is taken only while the layout in place
 * holds nothing that still needs a process (no unfinished email, dead letter or pending job); else start-up
 * stops with PartitionLayoutError. Until Redis answers, start-up waits, as the rest of the process does.
 */
@Injectable()
export class PartitionLayout implements OnApplicationBootstrap {
  private readonly redis: RedisClient;
  private checked?: Promise<void>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.redis = connections.client;
    this.logger.setContext(PartitionLayout.name);
  }

  /** Every Nest application of the process bootstraps this provider: it checks once. */
  onApplicationBootstrap(): Promise<void> {
    return (this.checked ??= this.checkUntilRedisAnswers());
  }

  /** Takes the configured number when Redis records it, or records it when the layout in place is empty. */
  async check(): Promise<void> {
    const configured = this.keys.partitions;
    const recorded = Number((await this.redis.get(this.keys.partitionLayout())) ?? 1);
    if (recorded === configured) return;
    const contents = await this.contents(new RedisKeys(this.config.redis.keyPrefix, recorded));
    if (contents.unfinished + contents.deadLetters + contents.jobs > 0)
      throw new PartitionLayoutError(configured, recorded, contents);
    await this.redis.set(this.keys.partitionLayout(), configured);
    this.logger.warn(
      { from: recorded, to: configured },
      'emails are now spread over a new number of partitions',
    );
  }

  /** What a layout's partitions hold that a process must still act on. */
  async contents(layout: RedisKeys): Promise<LayoutContents> {
    const counts = (keys: string[], count: (key: string) => Promise<number>) =>
      Promise.all(keys.map(count)).then((all) => all.reduce((sum, n) => sum + n, 0));
    const partitions = layout.partitionNumbers();
    const queueKeys = partitions.flatMap((partition) =>
      PRIORITIES.flatMap((priority) =>
        BULL_PENDING.map((list) => `${layout.queuePrefix(partition)}:${EMAIL_QUEUES[priority]}:${list}`),
      ),
    );
    const [unfinished, deadLetters, jobs] = await Promise.all([
      counts(
        partitions.map((p) => layout.unfinishedEmails(p)),
        (key) => this.redis.zcard(key),
      ),
      counts(
        partitions.map((p) => layout.deadLetters(p)),
        (key) => this.redis.zcard(key),
      ),
      counts(queueKeys, async (key) => {
        const type = await this.redis.type(key);
        if (type === 'list') return this.redis.llen(key);
        return type === 'zset' ? this.redis.zcard(key) : 0;
      }),
    ]);
    return { unfinished, deadLetters, jobs };
  }

  private async checkUntilRedisAnswers(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.check();
      } catch (error) {
        if (error instanceof PartitionLayoutError) throw error;
        if (attempt === 1) this.logger.warn({ err: error }, 'cannot read the partition layout yet; retrying');
        await sleep(1000);
      }
    }
  }
}
