import type { DeadLetterDto } from '../dead-letters/dto/dead-letter.dto';
import type { ServiceFigures } from '../service-metrics/service-metrics.recorder';
import type { QueueFigures } from '../queue-figures/queue-figures.service';
import { PRIORITIES } from '../queue/queue-names';
import type { SmtpIngressFigures } from '../smtp-ingress/smtp-ingress.stats';
import type { DeliveryEventFigures } from './delivery-event-figures';
import type { MinuteSeries } from './minute-series';
import type { RedisFigures } from './redis-info';

/** The headline numbers at the top of the page. */
export interface OverviewSummary {
  waiting: number;
  active: number;
  delayed: number;
  scheduled: number;
  deadLetters: number;
  sentLastHour: number;
  failedLastHour: number;
}

/**
 * Everything the overview page shows, as `GET /api/overview` returns it. While Redis is unreachable,
 * `redisAvailable` is false and every figure read from Redis is null: the page says so instead of failing.
 */
export interface Overview {
  generatedAt: string;
  redisAvailable: boolean;
  summary: OverviewSummary | null;
  queues: QueueFigures | null;
  throughput: MinuteSeries | null;
  deadLetters: { items: DeadLetterDto[]; total: number } | null;
  services: Record<string, ServiceFigures> | null;
  deliveryEvents: DeliveryEventFigures | null;
  smtpIngress: SmtpIngressFigures | null;
  redis: RedisFigures | null;
}

/** The overview of a moment when Redis could not be reached. */
export function unavailableOverview(generatedAt: string): Overview {
  return {
    generatedAt,
    redisAvailable: false,
    summary: null,
    queues: null,
    throughput: null,
    deadLetters: null,
    services: null,
    deliveryEvents: null,
    smtpIngress: null,
    redis: null,
  };
}

/** Adds the queues of every priority up, with the emails sent and failed in the last hour. */
export function summarize(figures: QueueFigures, throughput: MinuteSeries): OverviewSummary {
  const total = (field: 'waiting' | 'active' | 'delayed') =>
    PRIORITIES.reduce((sum, priority) => sum + figures.queues[priority][field], 0);
  return {
    waiting: total('waiting'),
    active: total('active'),
    delayed: total('delayed'),
    scheduled: figures.scheduled,
    deadLetters: figures.deadLetters,
    sentLastHour: throughput.totals.sent,
    failedLastHour: throughput.totals.failed,
  };
}
