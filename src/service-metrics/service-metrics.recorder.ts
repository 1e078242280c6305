import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { Batcher } from '../common/batcher';
import { Throttle } from '../common/throttle';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, pipelinedScript, type PipelinedScript } from '../redis/scripts';
import { writeCounts, tally, type Count } from './counts';

const FLUSH_INTERVAL_MS = 1000;
/** Counts that may wait: far more than a second holds, and a failed write keeps them added up (tally). */
const MAX_WAITING_COUNTS = 1_000_000;
const OVERFLOW_LOG_INTERVAL_MS = 60_000;
const MINUTE_STATS_TTL_SECONDS = 2 * 3600;

type MaxArgs = [field: string, value: number];
const HASH_MAX = loadScript<[hash: string], MaxArgs, 1>(__dirname, 'hash-max.lua');

/** Event counted per service, by the field it adds to. */
const EMAIL_FIELDS: Partial<Record<EmailEvent['event'], string>> = {
  accepted: 'emailsAccepted',
  sent: 'emailsSent',
  failed: 'emailsFailed',
  dead_lettered: 'emailsDead',
};

/** A service's counters, summed over every replica. */
export interface ServiceFigures {
  calls: number;
  emailsAccepted: number;
  emailsSent: number;
  emailsFailed: number;
  emailsDead: number;
  endpoints: Record<string, number>;
  lastCallAt: string | null;
}

/**
 * Counts, per calling service, its calls (in all and per endpoint), the emails accepted, sent, failed and dead,
 * and its last call; and, per minute, the emails sent and failed (the dashboard's chart). Counting appends to
 * a list; within a second the counts are added up and reach Redis in one pipeline, where every replica's
 * increments add up. While Redis is away they are kept, added up, and written once it is back. The figures
 * are read back here too: this class alone knows the counters' keys and fields.
 */
@Injectable()
export class ServiceMetricsRecorder implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private readonly counts: Batcher<Count>;
  private readonly overflowLog = new Throttle(OVERFLOW_LOG_INTERVAL_MS);
  private readonly redis: RedisClient;
  private readonly hashMax: PipelinedScript<[hash: string], MaxArgs>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly events: EmailEvents,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('metrics');
    this.redis = connections.client;
    this.hashMax = pipelinedScript(this.redis, HASH_MAX);
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

  /** The figures of `services`, or of every service that has counters. */
  async figures(services?: readonly string[]): Promise<Record<string, ServiceFigures>> {
    const names = services ?? (await this.redis.smembers(this.keys.serviceMetricsIndex())).sort();
    if (names.length === 0) return {};
    const pipeline = this.redis.pipeline();
    for (const service of names) pipeline.hgetall(this.keys.serviceMetrics(service));
    const replies = (await pipeline.exec()) ?? [];
    return Object.fromEntries(
      names.map((service, i) => [service, toFigures((replies[i]?.[1] ?? {}) as Record<string, string>)]),
    );
  }

  /**
   * The emails sent and failed in each of `minutes` (see lastMinutes), as `[sent, failed]`; null where a
   * minute had no such event or its counts have expired.
   */
  async minuteCounts(minutes: readonly number[]): Promise<[string | null, string | null][]> {
    const pipeline = this.redis.pipeline();
    for (const minute of minutes) pipeline.hmget(this.keys.minuteStats(minute), 'sent', 'failed');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, value]) => {
      if (error) throw error;
      return value as [string | null, string | null];
    });
  }

  /** Adds the counts to Redis in one pipeline; any command failing fails it (the counts are then kept). */
  private async write(counts: Count[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    writeCounts(pipeline, counts, (p, key, field, value) => {
      this.hashMax(p, [key], [field, value]);
    });
    const results = await pipeline.exec();
    const failure = results?.find(([error]) => error)?.[0];
    if (failure) throw failure;
  }
}

function toFigures(hash: Record<string, string>): ServiceFigures {
  const number = (field: string) => Number(hash[field] ?? 0);
  const endpoints = Object.fromEntries(
    Object.entries(hash)
      .filter(([field]) => field.startsWith('endpoint:'))
      .map(([field, value]) => [field.slice('endpoint:'.length), Number(value)]),
  );
  return {
    calls: number('calls'),
    emailsAccepted: number('emailsAccepted'),
    emailsSent: number('emailsSent'),
    emailsFailed: number('emailsFailed'),
    emailsDead: number('emailsDead'),
    endpoints,
    lastCallAt: hash['lastCallAt'] ? new Date(Number(hash['lastCallAt'])).toISOString() : null,
  };
}
