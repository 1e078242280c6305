import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { isRedisConnectionError } from '../common/redis-unavailable.error';
import { DeadLettersService } from '../dead-letters/dead-letters.service';
import { AppLogger } from '../logging/app-logger';
import { ServiceMetricsRecorder } from '../service-metrics/service-metrics.recorder';
import { ServiceMetricsService } from '../service-metrics/service-metrics.service';
import { QueueFiguresService } from '../queue-figures/queue-figures.service';
import { SmtpIngressStats } from '../smtp-ingress/smtp-ingress.stats';
import { RedisConnections } from '../redis/redis-connections';
import { DeliveryEventFiguresService } from './delivery-event-figures';
import { lastMinutes, toMinuteSeries, type MinuteSeries } from './minute-series';
import { summarize, unavailableOverview, type Overview } from './overview';
import { redisFigures, type RedisFigures } from './redis-info';

/** The chart's window: one bar per minute over the last hour. */
const CHART_MINUTES = 60;
/** Dead letters listed on the page (the newest); the total is shown beside them. */
const DEAD_LETTERS_SHOWN = 50;

/** The dashboard reads every service's figures, as an admin token would. */
const DASHBOARD_CALLER: Caller = { service: 'dashboard', scopes: new Set(['admin']), isAdmin: true };

/** Gathers the overview from the same services the API uses; Redis being down is a state, not an error. */
@Injectable()
export class DashboardOverviewService {
  constructor(
    private readonly redis: RedisConnections,
    private readonly queueFigures: QueueFiguresService,
    private readonly deadLetters: DeadLettersService,
    private readonly serviceMetrics: ServiceMetricsService,
    private readonly serviceCounters: ServiceMetricsRecorder,
    private readonly deliveryEvents: DeliveryEventFiguresService,
    private readonly smtpStats: SmtpIngressStats,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('dashboard');
  }

  async overview(now = Date.now()): Promise<Overview> {
    const generatedAt = new Date(now).toISOString();
    // Without a connection every read would fail at once; skip them.
    if (!this.redis.isReady()) return unavailableOverview(generatedAt);
    try {
      const [queues, throughput, deadLetters, services, deliveryEvents, smtpIngress, redis] =
        await Promise.all([
          this.queueFigures.figures(),
          this.throughput(now),
          this.deadLetters.list({ limit: DEAD_LETTERS_SHOWN }),
          this.serviceMetrics.figures(DASHBOARD_CALLER),
          this.deliveryEvents.figures(),
          this.smtpStats.figures(),
          this.redisFigures(),
        ]);
      return {
        generatedAt,
        redisAvailable: true,
        summary: summarize(queues, throughput),
        queues,
        throughput,
        deadLetters: { items: deadLetters.items, total: queues.deadLetters },
        services,
        deliveryEvents,
        smtpIngress,
        redis,
      };
    } catch (error) {
      if (!isRedisConnectionError(error)) throw error;
      this.logger.debug({ reason: (error as Error).message }, 'overview without redis');
      return unavailableOverview(generatedAt);
    }
  }

  /** Emails sent and failed per minute over the last hour: 60 small hashes read in one pipeline. */
  private async throughput(now: number): Promise<MinuteSeries> {
    const minutes = lastMinutes(now, CHART_MINUTES);
    return toMinuteSeries(minutes, await this.serviceCounters.minuteCounts(minutes));
  }

  /** INFO and DBSIZE; null when this Redis refuses them (some managed services rename or disable INFO). */
  private async redisFigures(): Promise<RedisFigures | null> {
    try {
      const [info, dbSize] = await Promise.all([this.redis.client.info(), this.redis.client.dbsize()]);
      return redisFigures(info, dbSize);
    } catch (error) {
      if (isRedisConnectionError(error)) throw error;
      this.logger.debug({ reason: (error as Error).message }, 'redis INFO unavailable');
      return null;
    }
  }
}
