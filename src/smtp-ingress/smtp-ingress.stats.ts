import { Injectable } from '@nestjs/common';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

export type SmtpCount = 'sessions' | 'authFailures' | 'accepted' | 'refused';

/** The SMTP ingress's running totals over every smtp process, for the dashboard. */
export interface SmtpIngressFigures {
  sessions: number;
  authFailures: number;
  accepted: number;
  refused: number;
}

/**
 * Counts what the SMTP ingress does: in this process's Prometheus metrics, and in one Redis hash that every
 * smtp process adds to (the dashboard shows its totals). The Redis write is not awaited and its failure is
 * ignored: counting must never delay or fail a message.
 */
@Injectable()
export class SmtpIngressStats {
  constructor(
    private readonly redis: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly metrics: PrometheusMetrics,
  ) {}

  count(what: SmtpCount): void {
    this.metrics.recordSmtp(what);
    if (this.redis.isReady())
      this.redis.client.hincrby(this.keys.smtpIngressStats(), what, 1).catch(() => undefined);
  }

  async figures(): Promise<SmtpIngressFigures> {
    const values = await this.redis.client.hmget(
      this.keys.smtpIngressStats(),
      'sessions',
      'authFailures',
      'accepted',
      'refused',
    );
    const [sessions, authFailures, accepted, refused] = values.map((value) => Number(value ?? 0));
    return { sessions: sessions!, authFailures: authFailures!, accepted: accepted!, refused: refused! };
  }
}
