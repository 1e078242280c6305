import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
import { ReplicationBarrier } from '../redis/replication-barrier';
import { DailyQuotaStore } from '../rate-limit/daily-quota.store';
import type { PreparedEmail } from './email-preparer';
import { EmailStore } from './email.store';
import { storedBytes } from './stored-bytes';

/**
 * The one way emails enter the service, whether one (REST or SMTP ingress), a batch or a group: taken from
 * the caller's daily quota, recorded and queued, all or none; then announced to the audit trail and metrics.
 */
@Injectable()
export class EmailIntake {
  constructor(
    private readonly emails: EmailStore,
    private readonly queue: EmailQueue,
    private readonly quota: DailyQuotaStore,
    private readonly events: EmailEvents,
    private readonly replication: ReplicationBarrier,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('emails');
  }

  /**
   * Takes the emails from the caller's daily quota (429 for all of them if they do not fit), then writes the
   * records and queues the jobs, the jobs issued right behind the records on the one shared connection (so
   * Redis has every record before its job, and neither waits for the other's answer: one round trip for a
   * single email). With REDIS_WAIT_REPLICAS set, the records must first reach that many replicas, then the jobs
   * are added, so that an answered email survives a failover (a job lost with the old primary is added again by
   * the reconciler, from the record). If any step fails, everything written (records, messages, index entries) is removed and the
   * quota given back: all or none, so that no record is left `queued` without a job. Should that clean-up
   * fail as well (Redis gone meanwhile), the records left are unfinished emails, which the reconciler queues
   * later. Once stored, each email is announced.
   */
  async store(caller: Caller, emails: PreparedEmail[]): Promise<void> {
    const reservation = await this.quota.take(caller.service, emails.length, storedBytes(emails));
    const jobs = emails.map(({ record, delayMs }) => ({ id: record.id, priority: record.priority, delayMs }));
    const written = this.emails.createMany(emails);
    // With replicas to wait for, the jobs follow the confirmation: a job added before it could be taken and sent
    // while the WAIT falls short and the records are taken back, a 503 for an email that goes out anyway.
    const queued = this.replication.isRequired
      ? written.then(() => this.replication.confirm()).then(() => this.queue.enqueueMany(jobs))
      : this.queue.enqueueMany(jobs);
    const results = await Promise.allSettled([written, queued]);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      const rollback = await Promise.allSettled([
        this.emails.discard(emails.map((e) => e.record)),
        reservation?.release(),
      ]);
      const rollbackFailure = rollback.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rollbackFailure)
        this.logger.error(
          { emails: emails.length, err: rollbackFailure.reason as unknown },
          'emails not accepted, and not wholly taken back: the reconciler will queue what is left',
        );
      throw failure.reason;
    }
    for (const email of emails) this.announce(email);
  }

  /** Tells the audit trail and the metrics about a newly accepted email (and its schedule). */
  private announce({ record }: PreparedEmail): void {
    const base = {
      emailId: record.id,
      service: record.service,
      requestId: record.requestId,
      priority: record.priority,
      at: record.createdAt,
    };
    this.events.emit({
      ...base,
      event: 'accepted',
      detail: {
        priority: record.priority,
        recipients: record.to.length,
        ...(record.template ? { template: record.template } : {}),
        ...(record.groupId ? { groupId: record.groupId } : {}),
        ...(record.pinnedProvider ? { provider: record.pinnedProvider } : {}),
      },
    });
    if (record.sendAt)
      this.events.emit({
        ...base,
        event: 'scheduled',
        detail: { sendAt: new Date(record.sendAt).toISOString() },
      });
  }
}
