import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Batcher } from '../common/batcher';
import { Throttle } from '../common/throttle';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { AuditStore, type AuditEntry } from './audit.store';

/** At most one "audit write failed" line per this many milliseconds: an outage must not flood the log. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** Entries are written together, at most this long after they happened, or as soon as this many wait. */
const FLUSH_DELAY_MS = 20;
const FLUSH_SIZE = 500;
/** Entries that may wait while a write is slow to answer; beyond it the oldest are dropped and counted. */
const MAX_WAITING = 100_000;

/**
 * Writes every email event to the audit trail, in the background and in batches (one script call for up to
 * 500 entries, within 20 ms): the caller never waits for it, and a failed write is logged and counted but
 * never fails or slows the send it describes. A failed batch is not written again: the script may have run
 * before the failure was seen, and the trail must not show an event twice. Entries still waiting when a
 * process is killed are lost (at most 20 ms of them); on a graceful shutdown they are written.
 */
@Injectable()
export class AuditWriter implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  private readonly entries: Batcher<AuditEntry>;
  private readonly failureLog = new Throttle(FAILURE_LOG_INTERVAL_MS);

  constructor(
    private readonly events: EmailEvents,
    private readonly audit: AuditStore,
    private readonly logger: AppLogger,
    metrics: PrometheusMetrics,
  ) {
    this.logger.setContext('audit');
    metrics.followAuditFailures(() => this.failedWrites);
    this.entries = new Batcher<AuditEntry>({
      write: (entries) => this.audit.append(entries, Date.now()),
      delayMs: FLUSH_DELAY_MS,
      maxBatch: FLUSH_SIZE,
      maxWaiting: MAX_WAITING,
      onWriteFailed: (error, entries) => {
        if (!this.failureLog.allows()) return;
        const reason = error instanceof Error ? error.message : String(error);
        this.logger.warn({ entries, reason, failedWrites: this.failedWrites }, 'audit write failed');
      },
      onOverflow: (entries) => {
        if (this.failureLog.allows())
          this.logger.warn(
            { entries, failedWrites: this.failedWrites },
            'audit entries dropped: too many waiting',
          );
      },
    });
  }

  /** Audit entries whose write failed, or that were dropped unwritten, since start (exported as a metric). */
  get failedWrites(): number {
    return this.entries.dropped;
  }

  onModuleInit(): void {
    this.events.subscribe(this);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.entries.close();
  }

  onEmailEvent(event: EmailEvent): void {
    this.record({
      at: new Date(event.at).toISOString(),
      event: event.event,
      service: event.service,
      emailId: event.emailId,
      requestId: event.requestId ?? null,
      detail: event.detail ?? {},
    });
  }

  /** Writes an entry about something other than an email (a webhook endpoint), like any other. */
  record(entry: AuditEntry): void {
    this.entries.add(entry);
  }
}
