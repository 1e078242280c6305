import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { EmailQueue, type EmailJobState } from '../queue/email-queue';
import { verdictOn, type ReconcilerAction, type UnfinishedEmail } from './reconcile-verdict';
import { ReconcilerStore } from './reconciler.store';

/** The most emails one sweep looks at: its Redis work stays bounded however many are unfinished. */
export const SWEEP_LIMIT = 500;
/** The shortest leadership lease: a leader keeps it across a slow sweep or a pause of its event loop. */
const MIN_LEASE_MS = 5000;

/**
 * The reconciler (worker role): however careful each write, a process killed between two Redis calls (or a
 * job lost behind the app's back) can leave an email unfinished with no job to move it on. Every
 * RECONCILER_INTERVAL_MS one worker, the leader (a Redis key with a lease, renewed while it lives), sweeps
 * the unfinished emails that have made no progress for RECONCILER_STALE_MS, longest-waiting first and at most
 * SWEEP_LIMIT a sweep. An email that a job still carries is left alone and looked at again one bound later
 * (so each sweep moves on through the set, like a cursor); one whose job is missing or finished is queued
 * again, or made dead when its attempts are spent. Each repair is audited (`reconciled`) and counted
 * (freeface_reconciler_repairs_total).
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly store: ReconcilerStore,
    private readonly queue: EmailQueue,
    private readonly events: EmailEvents,
    private readonly metrics: PrometheusMetrics,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('reconciler');
    this.leaseMs = Math.max(2 * config.reconciler.intervalMs, MIN_LEASE_MS);
  }

  onApplicationBootstrap(): void {
    this.scheduleNext();
  }

  /** Stops sweeping, lets a running sweep finish, and hands the leadership on at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
    await this.store.resign(this.token).catch(() => undefined);
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.tick().finally(() => {
        this.sweeping = undefined;
        this.scheduleNext();
      });
    }, this.config.reconciler.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await this.store.lead(this.token, this.leaseMs))) return;
      const repaired = await this.sweep(Date.now());
      this.metrics.recordReconcilerSweep();
      this.logger.debug({ repaired }, 'reconciler sweep done');
    } catch (error) {
      this.logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        'reconciler sweep failed; trying again at the next one',
      );
    }
  }

  /** One sweep: judges up to SWEEP_LIMIT overdue emails and repairs those stranded. Returns how many it repaired. */
  async sweep(now: number): Promise<number> {
    const overdue = await this.store.overdue(now - this.config.reconciler.staleMs, SWEEP_LIMIT);
    if (overdue.length === 0) return 0;
    const known = overdue.filter((entry): entry is { id: string; email: UnfinishedEmail } => !!entry.email);
    const states = await this.queue.jobStates(known.map(({ email }) => email));
    const jobOf = new Map(known.map(({ id }, i) => [id, states[i]!]));
    const forget: string[] = [];
    const seen: { id: string; at: number }[] = [];
    let repaired = 0;
    for (const { id, email, unreadable } of overdue) {
      if (unreadable) {
        // Looked at again one bound later, so that it never holds up the others.
        seen.push({ id, at: now });
        this.logger.warn({ emailId: id, reason: unreadable }, 'reconciler cannot read an email record');
        continue;
      }
      const job = jobOf.get(id) ?? 'missing';
      const verdict = verdictOn(email, job, now);
      if (verdict.kind === 'forget') forget.push(id);
      else if (verdict.kind === 'healthy') seen.push({ id, at: verdict.seenAt });
      else if (await this.repair(email!, job, verdict, now).catch((error: unknown) => this.failed(id, error)))
        repaired++;
    }
    await Promise.all([this.store.forget(forget), this.store.seen(seen)]);
    return repaired;
  }

  private async repair(
    email: UnfinishedEmail,
    job: EmailJobState,
    verdict: { kind: 'requeue' } | { kind: 'dead_letter'; reason: string },
    now: number,
  ): Promise<boolean> {
    if (verdict.kind === 'requeue') {
      if (!(await this.store.readyForRequeue(email.id, email.status, now))) return false;
      await this.queue.ensureJob(email.id, email.priority);
      this.announce(email, job, 'requeued');
      return true;
    }
    if (!(await this.store.deadLetter(email.id, email.status, verdict.reason, now))) return false;
    this.announce(email, job, 'dead_lettered');
    this.events.emit({
      ...eventBase(email),
      event: 'dead_lettered',
      detail: { reason: verdict.reason, attempts: email.attempts, permanent: false, reconciled: true },
    });
    return true;
  }

  private announce(email: UnfinishedEmail, job: EmailJobState, action: ReconcilerAction): void {
    const detail = { previousStatus: email.status, action, job, attempts: email.attempts };
    this.events.emit({ ...eventBase(email), event: 'reconciled', detail });
    this.logger.warn({ emailId: email.id, ...detail }, 'reconciler repaired an email left without a job');
  }

  private failed(emailId: string, error: unknown): false {
    this.logger.warn(
      { emailId, reason: error instanceof Error ? error.message : String(error) },
      'reconciler could not repair an email; it comes round again',
    );
    return false;
  }
}

function eventBase(email: UnfinishedEmail) {
  return {
    emailId: email.id,
    service: email.service,
    priority: email.priority,
    ...(email.requestId ? { requestId: email.requestId } : {}),
    ...(email.provider ? { provider: email.provider } : {}),
  };
}
