import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, pipelinedScript, type PipelinedScript } from '../redis/scripts';
import { CounterBuffer } from './counter-buffer';

const FLUSH_INTERVAL_MS = 1000;
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
 * and its last call; and, per minute, the emails sent and failed (the dashboard's chart). Counting is a Map
 * update; the counts reach Redis once a second, in hashes that every replica adds to, and are read back here.
 */
@Injectable()
export class ServiceMetricsRecorder implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private readonly buffer = new CounterBuffer();
  private readonly services = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly redis: Redis;
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
  }

  onModuleInit(): void {
    this.events.subscribe(this);
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** One API call by `service` to the route `endpoint` (`POST /api/v1/emails`). */
  recordCall(service: string, endpoint: string, at: number): void {
    const key = this.keys.serviceMetrics(service);
    this.services.add(service);
    this.buffer.add(key, 'calls');
    this.buffer.add(key, `endpoint:${endpoint}`);
    this.buffer.max(key, 'lastCallAt', at);
  }

  onEmailEvent(event: EmailEvent): void {
    const field = EMAIL_FIELDS[event.event];
    if (field) {
      this.services.add(event.service);
      this.buffer.add(this.keys.serviceMetrics(event.service), field);
    }
    // Every failed attempt emits `failed`, the last one `dead_lettered` as well: counting `failed` alone
    // counts each failure once.
    if (event.event === 'sent' || event.event === 'failed') {
      const minute = Math.floor(event.at / 60_000);
      this.buffer.add(this.keys.minuteStats(minute), event.event, 1, MINUTE_STATS_TTL_SECONDS);
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

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) return;
    const services = [...this.services];
    this.services.clear();
    try {
      await this.buffer.flush(this.redis, (pipeline, key, field, value) => {
        this.hashMax(pipeline, [key], [field, value]);
      });
      if (services.length > 0) await this.redis.sadd(this.keys.serviceMetricsIndex(), ...services);
    } catch (error) {
      services.forEach((s) => this.services.add(s));
      this.logger.debug(
        { reason: error instanceof Error ? error.message : String(error) },
        'metrics flush postponed',
      );
    }
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
