import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { ProviderRegistry } from '../providers/provider-registry';
import { EmailQueue } from '../queue/email-queue';
import { retryDelayMs, RETRY_DELAY_CAP_MS } from './backoff';
import { DeliveryService } from './delivery.service';
import { PriorityDispatcher, type JobOutcome } from '../queue/priority-dispatcher';

/** An error of ours (not a provider's answer) puts a job back at least this long: Redis may be struggling. */
const HANDLER_ERROR_MIN_DELAY_MS = 1000;

/**
 * The worker role's job loop: takes email jobs high before medium before low, `WORKER_CONCURRENCY` at a
 * time, once the application has started; on SIGTERM stops taking jobs and lets running ones finish.
 */
@Injectable()
export class DeliveryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly dispatcher: PriorityDispatcher;

  constructor(
    queue: EmailQueue,
    private readonly delivery: DeliveryService,
    private readonly providers: ProviderRegistry,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
    private readonly metrics: PrometheusMetrics,
  ) {
    this.logger.setContext('delivery');
    const { retryBackoffMs } = config.delivery;
    this.dispatcher = new PriorityDispatcher(
      queue.inTiers(),
      (job) => this.process(job),
      {
        concurrency: config.delivery.concurrency,
        handlerErrorDelayMs: () =>
          retryDelayMs(1, Math.max(HANDLER_ERROR_MIN_DELAY_MS, retryBackoffMs), RETRY_DELAY_CAP_MS),
      },
      this.logger,
    );
  }

  get isRunning(): boolean {
    return this.dispatcher.isRunning;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.verifyProviders();
    await this.dispatcher.start();
    this.logger.info({ concurrency: this.config.delivery.concurrency }, 'worker taking jobs');
  }

  /**
   * Checks every provider before the first job (for SMTP: connect and log in), so that a wrong host or
   * password shows in the log at start rather than as failed emails. A failure is logged, not fatal: the
   * provider may come up later, and failover and retries cover it meanwhile.
   */
  private async verifyProviders(): Promise<void> {
    await Promise.all(
      this.providers.all().map(async (provider) => {
        try {
          await provider.verify();
          this.logger.info({ provider: provider.name }, 'provider verified');
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          this.logger.warn({ provider: provider.name, reason }, 'provider could not be verified at start');
        }
      }),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    const active = this.dispatcher.activeJobs;
    this.logger.info(
      { active, timeoutMs: this.config.shutdownTimeoutMs },
      'worker stopping: finishing running jobs',
    );
    const finished = await this.dispatcher.stop(this.config.shutdownTimeoutMs);
    if (!finished) {
      this.logger.warn(
        { active: this.dispatcher.activeJobs },
        'shutdown timeout: unfinished jobs return to the queue',
      );
    }
  }

  /**
   * One email job: a retry waits the backoff of the record's attempt; a wait (rate limit, open circuit, a
   * provider this worker lacks) spends no attempt. The record alone decides when the email is dead.
   */
  private process(job: Job): Promise<JobOutcome> {
    const emailId = String(job.id);
    return this.logger.runInContext(
      async (): Promise<JobOutcome> => {
        const outcome = await this.delivery.deliver(emailId);
        switch (outcome.kind) {
          case 'retry':
            return {
              kind: 'retry',
              reason: outcome.reason,
              delayMs: retryDelayMs(outcome.attempt, this.config.delivery.retryBackoffMs, RETRY_DELAY_CAP_MS),
            };
          case 'wait':
            if (outcome.reason === 'rate' && outcome.provider)
              this.metrics.recordRateLimitWait(outcome.provider);
            return { kind: 'wait', untilMs: outcome.untilMs };
          case 'skipped':
            return { kind: 'done', result: `skipped: ${outcome.reason}` };
          default:
            return { kind: 'done', result: outcome.kind };
        }
      },
      { bindings: { emailId } },
    );
  }
}
