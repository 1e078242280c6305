import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { Batcher } from '../common/batcher';
import { Throttle } from '../common/throttle';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { writeCounts, tally, type Count } from './counts';

const FLUSH_INTERVAL_MS = 1000;
/** Counts that may wait: far more than a second holds, and a failed write keeps them added up (tally). */
const MAX_WAITING_COUNTS = 1_000_000;
const OVERFLOW_LOG_INTERVAL_MS = 60_000;
const MINUTE_STATS_TTL_SECONDS = 2 * 3600;

/** HSET only when the value is higher than the one stored. KEYS[1] hash. ARGV[1] field, ARGV[2] value. */
const MAX_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if not current or tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`;

/** Event counted per service, by the field it adds to. */
const EMAIL_FIELDS: Partial<Record<EmailEvent['event'], string>> = {
  accepted: 'emailsAccepted',
  sent: 'emailsSent',
  failed: 'emailsFailed',
  dead_lettered: 'emailsDead',
};

interface MaxRedis extends Redis {
  freefaceHashMax(key: string, field: string, value: number): Promise<number>;
}
interface MaxPipeline extends ChainableCommander {
  freefaceHashMax(key: string, field: string, value: number): ChainableCommander;
}

/**
 * Counts, per calling service, its calls (in all and per endpoint), the emails accepted, sent, failed and dead,
 * and its last call; and, per minute, the emails sent and failed (the dashboard's chart). Counting appends to
 * a list; within a second the counts are added up and reach Redis in one pipeline, where every replica's
 * increments add up. While Redis is away they are kept, added up, and written once it is back.
 */
@Injectable()
export class ServiceMetricsRecorder implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private readonly counts: Batcher<Count>;
  private readonly overflowLog = new Throttle(OVERFLOW_LOG_INTERVAL_MS);
  private readonly redis: MaxRedis;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly events: EmailEvents,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('metrics');
    this.redis = connections.client as MaxRedis;
    if (!this.redis.freefaceHashMax)
      this.redis.defineCommand('freefaceHashMax', { numberOfKeys: 1, lua: MAX_SCRIPT });
    this.counts = new Batcher<Count>({
      write: (counts) => this.write(counts),
      delayMs: FLUSH_INTERVAL_MS,
      maxWaiting: MAX_WAITING_COUNTS,
      retry: { afterMs: FLUSH_INTERVAL_MS, coalesce: tally },
      onWriteFailed: (error) =>
        this.logger.debug(
          { reason: error instanceof Error ? error.message : String(error) },
          'metrics flush postponed',
        ),
      onOverflow: () => {
        if (this.overflowLog.allows())
          this.logger.warn({ dropped: this.counts.dropped }, 'metric counts dropped: Redis away too long');
      },
    });
  }

  onModuleInit(): void {
    this.events.subscribe(this);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.counts.close();
  }

  /** One API call by `service` to the route `endpoint` (`POST /api/v1/emails`). */
  recordCall(service: string, endpoint: string, at: number): void {
    const key = this.keys.serviceMetrics(service);
    this.counts.add({ key: this.keys.serviceMetricsIndex(), member: service });
    this.counts.add({ key, field: 'calls', by: 1 });
    this.counts.add({ key, field: `endpoint:${endpoint}`, by: 1 });
    this.counts.add({ key, field: 'lastCallAt', max: at });
  }

  onEmailEvent(event: EmailEvent): void {
    const field = EMAIL_FIELDS[event.event];
    if (field) {
      this.counts.add({ key: this.keys.serviceMetricsIndex(), member: event.service });
      this.counts.add({ key: this.keys.serviceMetrics(event.service), field, by: 1 });
    }
    // Every failed attempt emits `failed`, the last one `dead_lettered` as well: counting `failed` alone
    // counts each failure once.
    if (event.event === 'sent' || event.event === 'failed') {
      const minute = Math.floor(event.at / 60_000);
      this.counts.add({
        key: this.keys.minuteStats(minute),
        field: event.event,
        by: 1,
        expireSeconds: MINUTE_STATS_TTL_SECONDS,
      });
    }
  }

  /** Adds the counts to Redis in one pipeline; any command failing fails it (the counts are then kept). */
  private async write(counts: Count[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    writeCounts(pipeline, counts, (p, key, field, value) => {
      (p as unknown as MaxPipeline).freefaceHashMax(key, field, value);
    });
    const results = await pipeline.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
  }
}
