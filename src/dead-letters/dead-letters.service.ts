import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { notFound } from '../common/problem-error';
import { EmailEvents } from '../events/email-events';
import { AppLogger } from '../logging/app-logger';
import { EmailQueue } from '../queue/email-queue';
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
    const page = await this.deadLetters.page(limit + 1, decodeCursor(query.cursor), query.provider);
    const items = page.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toDto),
      nextCursor: page.length > limit && last ? encodeCursor(last.deadAt, last.id) : null,
    };
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

  /** Retries every dead letter (or those of one provider), in batches so a long list never blocks Redis. */
  async retryAll(provider?: string): Promise<RetriedManyDto> {
    const ids: string[] = [];
    for (;;) {
      const batch = await this.deadLetters.page(RETRY_BATCH, undefined, provider);
      if (batch.length === 0) break;
      for (const letter of batch) if (await this.requeue(letter.id)) ids.push(letter.id);
      if (batch.length < RETRY_BATCH) break;
    }
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
