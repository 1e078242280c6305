import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { ProviderRegistry } from '../providers/provider-registry';
import { EmailQueue } from '../queue/email-queue';
import { PartitionLayout } from '../queue/partition-layout';
import { RedisConnections } from '../redis/redis-connections';

const PING_TIMEOUT_MS = 1000;

/**
 * Readiness as Kubernetes should see it: Redis answers a PING within a second, every email queue is open on
 * a ready connection, the number of partitions is the one Redis records (PartitionLayout), and at least one
 * provider is configured. Liveness (/health) checks none of these.
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisConnections,
    private readonly queue: EmailQueue,
    private readonly providers: ProviderRegistry,
    private readonly layout: PartitionLayout,
  ) {}

  async check(): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () =>
          this.indicators
            .check('redis')
            .attempt(async () => {
              if (!this.redis.isReady()) throw new Error('not connected');
              await this.redis.client.ping();
            })
            .withTimeout(PING_TIMEOUT_MS),
        () => {
          const session = this.indicators.check('queues');
          const queues = this.queue.inTiers().flat();
          const closed = queues.filter((q) => q.client.status !== 'ready').map((q) => q.name);
          return closed.length === 0
            ? session.up({ count: queues.length })
            : session.down({ notReady: closed });
        },
        () => {
          const session = this.indicators.check('partitions');
          return this.layout.isChecked ? session.up() : session.down({ reason: 'layout not checked yet' });
        },
        () => {
          const session = this.indicators.check('providers');
          const names = this.providers.names();
          return names.length > 0 ? session.up({ configured: names }) : session.down({ configured: [] });
        },
      ]);
    } catch (error) {
      if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
      throw error;
    }
  }
}
