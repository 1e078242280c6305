import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { tokensAt } from '../delivery/rate-limit';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { countPausedEndpoints } from '../webhooks/webhook-endpoint-gate';
import { EmailQueue } from './email-queue';
import { PRIORITIES, type Priority } from './queue-names';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

export interface ProviderFigures {
  /** Whether it is in the chain (`EMAIL_PROVIDER`, `PROVIDER_FALLBACKS`) or only usable when pinned. */
  inChain: boolean;
  circuit: {
    state: 'closed' | 'open' | 'half-open';
    consecutiveFailures: number;
    openUntil: string | null;
    timesOpened: number;
  };
  rateLimit: { limit: string; burst: number; tokens: number } | null;
}

export interface QueueFigures {
  queues: Record<Priority, QueueCounts>;
  scheduled: number;
  deadLetters: number;
  providers: Partial<Record<ProviderName, ProviderFigures>>;
  /** Webhook endpoints paused because they kept timing out. */
  pausedWebhooks: number;
}

/**
 * The numbers behind `GET /api/v1/queues`: depth per priority, schedules, dead letters, provider states,
 * paused webhook endpoints.
 */
@Injectable()
export class QueueFiguresService {
  constructor(
    private readonly queue: EmailQueue,
    private readonly redis: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
  ) {}

  async figures(): Promise<QueueFigures> {
    const { enabled, primary, fallbacks, rateLimits } = this.config.providers;
    const pipeline = countPausedEndpoints(
      this.redis.client.pipeline().time().zcard(this.keys.scheduled()).zcard(this.keys.deadLetters()),
      this.keys,
    );
    for (const name of enabled) {
      pipeline
        .hmget(this.keys.circuit(name), 'failures', 'openUntil', 'opened')
        .hmget(this.keys.rateBucket(name), 'tokens', 'updatedAt');
    }
    const [results, counts] = await Promise.all([pipeline.exec(), this.counts()]);
    const values = (results ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const [seconds, micros] = values[0] as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const providers: QueueFigures['providers'] = {};
    enabled.forEach((name, i) => {
      const [failures, openUntil, opened] = values[4 + 2 * i] as (string | null)[];
      const [tokens, updatedAt] = values[5 + 2 * i] as (string | null)[];
      const openUntilMs = openUntil ? Number(openUntil) : 0;
      const limit = rateLimits[name];
      providers[name] = {
        inChain: name === primary || fallbacks.includes(name),
        circuit: {
          state: openUntilMs > now ? 'open' : openUntilMs > 0 ? 'half-open' : 'closed',
          consecutiveFailures: Number(failures ?? 0),
          openUntil: openUntilMs > now ? new Date(openUntilMs).toISOString() : null,
          timesOpened: Number(opened ?? 0),
        },
        rateLimit: limit
          ? {
              limit: limit.text,
              burst: limit.burst,
              tokens: round(
                tokens === null
                  ? limit.burst
                  : tokensAt({ tokens: Number(tokens), updatedAt: Number(updatedAt) }, limit, now),
              ),
            }
          : null,
      };
    });
    return {
      queues: counts,
      scheduled: values[1] as number,
      deadLetters: values[2] as number,
      providers,
      pausedWebhooks: values[3] as number,
    };
  }

  private async counts(): Promise<Record<Priority, QueueCounts>> {
    const queues = this.queue.inPriorityOrder();
    const all = await Promise.all(queues.map((q) => q.getJobCounts()));
    return Object.fromEntries(
      PRIORITIES.map((priority, i) => {
        const c = all[i]!;
        return [
          priority,
          {
            waiting: c.waiting,
            active: c.active,
            delayed: c.delayed,
            completed: c.completed,
            failed: c.failed,
          },
        ];
      }),
    ) as Record<Priority, QueueCounts>;
  }
}

/** Tokens to two decimals; negative while emails hold reservations on the bucket. */
const round = (n: number) => Math.round(n * 100) / 100;
