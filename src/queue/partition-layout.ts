import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { EMAIL_QUEUES, PRIORITIES } from './queue-names';
import { RedisConnections, type RedisClient } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';

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

type TakeArgs = [found: number, configured: number, now: number];
const TAKE = loadScript<[layout: string], TakeArgs, 0 | 1>(__dirname, 'take-partition-layout.lua');

/** How often a running process looks at the recorded number again. */
const WATCH_MS = 5000;

/**
 * The number of partitions the emails are in, kept in Redis (RedisKeys.partitionLayout) so that a process
 * started with another REDIS_PARTITIONS cannot look for emails where they are not: it would neither deliver
 * nor find the ones written under the other layout.
 * - At start-up the configured number is recorded when none is (every process records it, one partition too).
 *   A different number is taken only while the layout in place holds nothing a process must still act on (no
 *   unfinished email, dead letter or pending job), and only if no other process changed it meanwhile (a
 *   compare-and-set); else start-up stops with PartitionLayoutError. A process that starts while Redis does not
 *   answer starts anyway (it must answer /health, and says it is not ready): it checks once Redis answers,
 *   stays not ready until then, and stops with exit code 1 if the check fails.
 * - While running, each process looks at the record every WATCH_MS: when another process has changed it, this
 *   one stops (exit code 1) rather than go on writing emails where no process of the new layout looks.
 */
@Injectable()
export class PartitionLayout implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly redis: RedisClient;
  private readonly takeScript: ScriptCommand<[layout: string], TakeArgs, 0 | 1>;
  private checked?: Promise<void>;
  private agreed = false;
  private closing = false;
  private watch?: NodeJS.Timeout;
  /** How the process stops when the layout changed under it; tests replace it. */
  stopProcess: () => void = () => {
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  };

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.redis = connections.client;
    this.takeScript = scriptCommand(this.redis, TAKE);
    this.logger.setContext(PartitionLayout.name);
  }

  /** Whether the configured number is the one recorded (readiness waits for it). */
  get isChecked(): boolean {
    return this.agreed;
  }

  /** Every Nest application of the process bootstraps this provider: it checks and starts watching once. */
  onApplicationBootstrap(): Promise<void> {
    return (this.checked ??= this.checkAtStart());
  }

  onApplicationShutdown(): void {
    this.closing = true;
    clearInterval(this.watch);
  }

  /** Takes the configured number when Redis records it, or records it when the layout in place is empty. */
  async check(): Promise<void> {
    const configured = this.keys.partitions;
    for (;;) {
      const recorded = await this.recorded();
      if (recorded === configured && (await this.redis.exists(this.keys.partitionLayout())) === 1) return;
      if (recorded !== configured) {
        const contents = await this.contents(new RedisKeys(this.config.redis.keyPrefix, recorded));
        if (contents.unfinished + contents.deadLetters + contents.jobs > 0)
          throw new PartitionLayoutError(configured, recorded, contents);
      }
      if ((await this.takeScript([this.keys.partitionLayout()], [recorded, configured, Date.now()])) === 1) {
        if (recorded !== configured)
          this.logger.warn(
            { from: recorded, to: configured },
            'emails are now spread over a new number of partitions',
          );
        return;
      }
      // Another process recorded a number meanwhile: judge again against it.
    }
  }

  /** The number recorded (1 when there is no record: the layout from before partitions). */
  async recorded(): Promise<number> {
    return Number((await this.redis.hget(this.keys.partitionLayout(), 'current')) ?? 1);
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

  private startWatching(): void {
    this.watch = setInterval(() => {
      this.recorded().then(
        (recorded) => {
          if (recorded === this.keys.partitions) return;
          clearInterval(this.watch);
          this.logger.error(
            { recorded, configured: this.keys.partitions },
            'another process changed the number of partitions (REDIS_PARTITIONS): stopping',
          );
          this.stopProcess();
        },
        // Redis away: the next look will tell.
        () => undefined,
      );
    }, WATCH_MS).unref();
  }

  /** Checks before the process takes work; when Redis does not answer yet, checks in the background. */
  private async checkAtStart(): Promise<void> {
    try {
      await this.check();
    } catch (error) {
      if (error instanceof PartitionLayoutError) throw error;
      this.logger.warn({ err: error }, 'cannot read the partition layout yet; not ready until it can');
      void this.checkOnceRedisAnswers();
      return;
    }
    this.agreed = true;
    this.startWatching();
  }

  private async checkOnceRedisAnswers(): Promise<void> {
    while (!this.closing) {
      await sleep(1000, undefined, { ref: false });
      try {
        await this.check();
        this.agreed = true;
        this.startWatching();
        return;
      } catch (error) {
        if (error instanceof PartitionLayoutError) {
          this.logger.error({ err: error }, error.message);
          this.stopProcess();
          return;
        }
      }
    }
  }
}
