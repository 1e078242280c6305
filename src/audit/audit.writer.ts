import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { EmailEvents, type EmailEvent, type EmailEventListener } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { AuditRepository, type AuditEntry } from './audit.repository';

/** At most one "audit write failed" line per this many milliseconds: an outage must not flood the log. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** Entries are written together, at most this long after they happened, or as soon as this many wait. */
const FLUSH_DELAY_MS = 20;
const FLUSH_SIZE = 500;

/**
 * Writes every email event to the audit trail, in the background and in batches (one script call for up to
 * 500 entries, within 20 ms): the caller never waits for it, and a failed write is logged and counted but
 * never fails or slows the send it describes. Entries still waiting when a process is killed are lost (at
 * most 20 ms of them); on a graceful shutdown they are written.
 */
@Injectable()
export class AuditWriter implements EmailEventListener, OnModuleInit, OnApplicationShutdown {
  /** Audit entries whose write failed since start (exported as a metric). */
  failedWrites = 0;
  private lastFailureLogAt = 0;
  private pending: AuditEntry[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly events: EmailEvents,
    private readonly audit: AuditRepository,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('audit');
  }

  onModuleInit(): void {
    this.events.subscribe(this);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
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
    this.pending.push(entry);
    if (this.pending.length >= FLUSH_SIZE) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const entries = this.pending;
    if (entries.length === 0) return;
    this.pending = [];
    const now = Date.now();
    try {
      await this.audit.append(entries, now);
    } catch (error) {
      this.failedWrites += entries.length;
      if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
      this.lastFailureLogAt = now;
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(
        { entries: entries.length, reason, failedWrites: this.failedWrites },
        'audit write failed',
      );
    }
  }
}
