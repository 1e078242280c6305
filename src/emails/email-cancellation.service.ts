import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { notFound, ProblemError } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
import type { EmailCancelledDto } from './dto/email-response.dto';
import { visibleRecord } from './email-visibility';
import { EmailStore } from './email.store';

/**
 * Cancels an email that has not started going out. The status change is atomic against a worker taking it,
 * so an email is never both cancelled and sent; its job is then removed when it still waits.
 */
@Injectable()
export class EmailCancellationService {
  constructor(
    private readonly emails: EmailStore,
    private readonly queue: EmailQueue,
    private readonly events: EmailEvents,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('emails');
  }

  async cancel(caller: Caller, id: string): Promise<EmailCancelledDto> {
    const record = visibleRecord(caller, id, await this.emails.find(id));
    const previous = await this.emails.cancel(id, Date.now());
    if (previous === undefined) throw notFound(`Email ${id}`);
    if (!['scheduled', 'queued', 'retrying'].includes(previous)) {
      throw new ProblemError(
        409,
        'conflict',
        `Email ${id} is ${previous}: only a scheduled, queued or retrying email can be cancelled.`,
      );
    }
    await this.queue.remove(id, record.priority);
    this.events.emit({
      event: 'cancelled',
      emailId: id,
      service: record.service,
      detail: { previousStatus: previous },
    });
    this.logger.info({ emailId: id, previous }, 'email cancelled');
    return { id, status: 'cancelled' };
  }
}
