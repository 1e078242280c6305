import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
import { DeliveryService } from './delivery.service';
import { PriorityDispatcher } from './priority-dispatcher';

/** Thrown to Bull so that it schedules the next attempt with backoff. */
class RetryLaterError extends Error {}

/**
 * The worker role's job loop: takes email jobs high before medium before low, `WORKER_CONCURRENCY` at a
 * time, once the application has started; on SIGTERM stops taking jobs and lets running ones finish.
 */
@Injectable()
export class DeliveryWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly dispatcher: PriorityDispatcher;

  constructor(
    queue: EmailQueue,
    private readonly delivery: DeliveryService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('delivery');
    this.dispatcher = new PriorityDispatcher(
      queue.inPriorityOrder(),
      (job) => this.process(job),
      { concurrency: config.delivery.concurrency },
      this.logger,
    );
  }

  get isRunning(): boolean {
    return this.dispatcher.isRunning;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.dispatcher.start();
    this.logger.info({ concurrency: this.config.delivery.concurrency }, 'worker taking jobs');
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

  private process(job: Job): Promise<string> {
    const emailId = String(job.id);
    return this.logger.runInContext(
      async () => {
        const outcome = await this.delivery.deliver(emailId);
        if (outcome.kind === 'retry') throw new RetryLaterError(outcome.reason);
        return outcome.kind;
      },
      { bindings: { emailId } },
    );
  }
}
