import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { CounterBuffer } from './counter-buffer';

const FLUSH_INTERVAL_MS = 1000;
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
 * and its last call; and, per minute, the emails sent and failed (the dashboard's chart). Counting is a Map
 * update; the counts reach Redis once a second.
 */
@Injectable()
export class ServiceMetricsRecorder implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private readonly buffer = new CounterBuffer();
  private readonly services = new Set<string>();
  private timer?: NodeJS.Timeout;
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

  private async flush(): Promise<void> {
    if (this.buffer.isEmpty) return;
    const services = [...this.services];
    this.services.clear();
    try {
      await this.buffer.flush(this.redis, (pipeline, key, field, value) => {
        (pipeline as unknown as MaxPipeline).freefaceHashMax(key, field, value);
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
