import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { DeadLetterStore } from '../dead-letters/dead-letter.store';
import { ProviderStateStore, type ProviderState } from '../delivery/provider-state.store';
import { EmailStore } from '../emails/email.store';
import { WebhookEndpointGate } from '../webhooks/webhook-endpoint-gate';
import { EmailQueue } from '../queue/email-queue';
import { PRIORITIES, type Priority } from '../queue/queue-names';

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
  circuit: ProviderState['circuit'];
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
    private readonly emails: EmailStore,
    private readonly deadLetters: DeadLetterStore,
    private readonly providerStates: ProviderStateStore,
    private readonly webhookGate: WebhookEndpointGate,
    private readonly config: AppConfig,
  ) {}

  async figures(): Promise<QueueFigures> {
    const { enabled, primary, fallbacks, rateLimits } = this.config.providers;
    const [counts, scheduled, deadLetters, states, pausedWebhooks] = await Promise.all([
      this.counts(),
      this.emails.scheduledCount(),
      this.deadLetters.count(),
      this.providerStates.states(enabled),
      this.webhookGate.pausedCount(),
    ]);
    const providers: QueueFigures['providers'] = {};
    for (const name of enabled) {
      const state = states.get(name)!;
      const limit = rateLimits[name];
      providers[name] = {
        inChain: name === primary || fallbacks.includes(name),
        circuit: state.circuit,
        rateLimit: limit
          ? { limit: limit.text, burst: limit.burst, tokens: round(state.tokens ?? limit.burst) }
          : null,
      };
    }
    return { queues: counts, scheduled, deadLetters, providers, pausedWebhooks };
  }

  /** Each priority's counts, summed over its queues (one per Redis partition). */
  private async counts(): Promise<Record<Priority, QueueCounts>> {
    const tiers = await Promise.all(
      this.queue.inTiers().map((tier) => Promise.all(tier.map((q) => q.getJobCounts()))),
    );
    return Object.fromEntries(
      PRIORITIES.map((priority, i) => {
        const sum = (state: keyof QueueCounts) => tiers[i]!.reduce((total, c) => total + c[state], 0);
        return [
          priority,
          {
            waiting: sum('waiting'),
            active: sum('active'),
            delayed: sum('delayed'),
            completed: sum('completed'),
            failed: sum('failed'),
          },
        ];
      }),
    ) as Record<Priority, QueueCounts>;
  }
}

/** Tokens to two decimals; negative while emails hold reservations on the bucket. */
const round = (n: number) => Math.round(n * 100) / 100;
