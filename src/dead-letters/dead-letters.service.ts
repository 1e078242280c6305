import { Injectable } from '@nestjs/common';
import { decodeCursor, nextCursorOf } from '../common/cursor';
import { notFound, ProblemError } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
import type { SortedSetEntry } from '../redis/sorted-set-page';
import type { Priority } from '../queue/queue-names';
import { DeadLetterStore, type DeadLetter } from './dead-letter.store';
import type { DeadLetterDto, DeadLetterPageDto, RetriedDto, RetriedManyDto } from './dto/dead-letter.dto';

const DEFAULT_PAGE = 20;
const RETRY_BATCH = 200;

/** What retrying one dead letter came to. */
type Requeued = 'queued' | 'not-dead' | 'job-running';

/** Listing dead letters, and putting them back in the queue with fresh attempts under the same id. */
@Injectable()
export class DeadLettersService {
  constructor(
    private readonly deadLetters: DeadLetterStore,
    private readonly queue: EmailQueue,
    private readonly events: EmailEvents,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('dead-letters');
  }

  async list(query: { limit?: number; cursor?: string; provider?: string }): Promise<DeadLetterPageDto> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const page = await this.deadLetters.page(limit, decodeCursor(query.cursor), query.provider);
    return { items: page.items.map(toDto), nextCursor: nextCursorOf(page.next) };
  }

  async retry(id: string): Promise<RetriedDto> {
    const requeued = await this.requeue(id);
    if (requeued === 'not-dead') throw notFound(`Dead letter ${id}`);
    if (requeued === 'job-running')
      throw new ProblemError(
        409,
        'conflict',
        `Email ${id}: a worker still holds its last job (it is finishing); retry it in a few seconds.`,
      );
    this.logger.info({ emailId: id }, 'dead letter retried');
    return { id, status: 'queued' };
  }

  /**
   * Puts one dead email back in its queue with fresh attempts. The steps are ordered so that a failure or a
   * crash between any two leaves the email delivered in the end: before the record is revived nothing has
   * changed (the retry can be repeated); once it is, the email is `queued` and unfinished, so that if its job
   * is not queued after all the reconciler queues it. A job a worker still holds is not taken from it: the
   * retry is refused, and nothing changes.
   */
  private async requeue(id: string): Promise<Requeued> {
    const priority = (await this.deadLetters.priorityOf(id)) as Priority | undefined;
    if (!priority) return 'not-dead';
    const [job] = await this.queue.jobStates([{ id, priority }]);
    if (job === 'locked') return 'job-running';
    const revived = await this.deadLetters.revive(id, Date.now());
    if (!revived) return 'not-dead';
    await this.queue.ensureJob(id, revived.priority as Priority);
    this.events.emit({
      event: 'retried_from_dead_letter',
      emailId: id,
      service: revived.service,
      priority: revived.priority,
    });
    return 'queued';
  }

  /**
   * Retries every dead letter (or those of one provider), page by page so a long list never blocks Redis.
   * It follows the pages' positions: an email that dies again meanwhile joins the top of the list, behind
   * the walk, and is not retried twice in one call. One whose last job a worker still holds stays on the
   * list, to be retried later.
   */
  async retryAll(provider?: string): Promise<RetriedManyDto> {
    const ids: string[] = [];
    let busy = 0;
    let after: SortedSetEntry | undefined;
    do {
      const page = await this.deadLetters.page(RETRY_BATCH, after, provider);
      for (const letter of page.items) {
        const requeued = await this.requeue(letter.id);
        if (requeued === 'queued') ids.push(letter.id);
        else if (requeued === 'job-running') busy++;
      }
      after = page.next;
    } while (after);
    this.logger.info({ retried: ids.length, left: busy, provider }, 'dead letters retried');
    return { retried: ids.length, ids };
  }

  async remove(id: string): Promise<void> {
    if (!(await this.deadLetters.remove(id))) throw notFound(`Dead letter ${id}`);
    this.logger.info({ emailId: id }, 'dead letter dropped');
  }
}

function toDto(letter: DeadLetter): DeadLetterDto {
  return {
    ...letter,
    deadAt: new Date(letter.deadAt).toISOString(),
    createdAt: new Date(letter.createdAt).toISOString(),
  };
}
