import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job } from 'bull';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { PriorityDispatcher, type JobOutcome } from '../queue/priority-dispatcher';
import { WebhookQueue, type WebhookJobData } from '../queue/webhook-queue';
import { WebhookDeliveryService } from './webhook-delivery.service';

/**
 * The worker role's webhook loop: WEBHOOK_CONCURRENCY deliveries at a time from the webhook queue, apart from
 * the email queues, so that a slow or failing receiver never holds up email. Each job is one attempt
 * (WebhookDeliveryService).
 */
@Injectable()
export class WebhookDeliveryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly dispatcher: PriorityDispatcher;

  constructor(
    webhookQueue: WebhookQueue,
    private readonly webhookDelivery: WebhookDeliveryService,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('webhooks');
    this.dispatcher = new PriorityDispatcher(
      [[webhookQueue.queue]],
      (job) => this.process(job as Job<WebhookJobData>),
      { concurrency: config.webhooks.concurrency },
      this.logger,
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.dispatcher.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    // Stop taking deliveries and let those in flight finish (each is bounded by its 10 s timeout).
    await this.dispatcher.stop(this.config.shutdownTimeoutMs);
    this.webhookDelivery.close();
  }

  private process(job: Job<WebhookJobData>): Promise<JobOutcome> {
    const { deliveryId, webhookId } = job.data;
    return this.logger.runInContext(
      () => this.webhookDelivery.attempt({ jobId: String(job.id), deliveryId, webhookId }),
      { bindings: { deliveryId } },
    );
  }
}
