import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { notFound } from '../common/problem-error';
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
    const priority = await this.deadLetters.revive(id);
    if (!priority) throw notFound(`Dead letter ${id}`);
    await this.queue.requeue(id, priority as Priority, this.config.delivery.maxAttempts);
    this.logger.info({ emailId: id }, 'dead letter retried');
    return { id, status: 'queued' };
  }

  /** Retries every dead letter (or those of one provider), in batches so a long list never blocks Redis. */
  async retryAll(provider?: string): Promise<RetriedManyDto> {
    const ids: string[] = [];
    for (;;) {
      const batch = await this.deadLetters.page(RETRY_BATCH, undefined, provider);
      if (batch.length === 0) break;
      for (const letter of batch) {
        const priority = await this.deadLetters.revive(letter.id);
        if (!priority) continue;
        await this.queue.requeue(letter.id, priority as Priority, this.config.delivery.maxAttempts);
        ids.push(letter.id);
      }
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
