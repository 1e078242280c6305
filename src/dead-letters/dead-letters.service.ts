import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { decodeCursor, nextCursorOf } from '../common/cursor';
import { notFound } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
import type { SortedSetEntry } from '../redis/sorted-set-page';
import type { Priority } from '../queue/queue-names';
import { DeadLetterRepository, type DeadLetter } from './dead-letter.repository';
import type { DeadLetterDto, DeadLetterPageDto, RetriedDto, RetriedManyDto } from './dto/dead-letter.dto';

const DEFAULT_PAGE = 20;
const RETRY_BATCH = 200;

/** Listing dead letters, and putting them back in the queue with fresh attempts under the same id. */
@Injectable()
export class DeadLettersService {
  constructor(
    private readonly deadLetters: DeadLetterRepository,
    private readonly queue: EmailQueue,
    private readonly config: AppConfig,
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
    if (!(await this.requeue(id))) throw notFound(`Dead letter ${id}`);
    this.logger.info({ emailId: id }, 'dead letter retried');
    return { id, status: 'queued' };
  }

  /** Puts one dead email back in its queue with fresh attempts; false when it was not dead. */
  private async requeue(id: string): Promise<boolean> {
    const revived = await this.deadLetters.revive(id);
    if (!revived) return false;
    await this.queue.requeue(id, revived.priority as Priority, this.config.delivery.maxAttempts);
    this.events.emit({
      event: 'retried_from_dead_letter',
      emailId: id,
      service: revived.service,
      priority: revived.priority,
    });
    return true;
  }

  /**
   * Retries every dead letter (or those of one provider), page by page so a long list never blocks Redis.
   * It follows the pages' positions: an email that dies again meanwhile joins the top of the list, behind
   * the walk, and is not retried twice in one call.
   */
  async retryAll(provider?: string): Promise<RetriedManyDto> {
    const ids: string[] = [];
    let after: SortedSetEntry | undefined;
    do {
      const page = await this.deadLetters.page(RETRY_BATCH, after, provider);
      for (const letter of page.items) if (await this.requeue(letter.id)) ids.push(letter.id);
      after = page.next;
    } while (after);
    this.logger.info({ retried: ids.length, provider }, 'dead letters retried');
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
