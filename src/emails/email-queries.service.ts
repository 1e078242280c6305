import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { decodeCursor, nextCursorOf } from '../common/cursor';
import type { EmailListDto, EmailStatusDto } from './dto/email-response.dto';
import type { EmailStatus } from '../common/email-status';
import { toStatusDto } from './email-responses';
import { listedService, visibleRecord } from './email-visibility';
import { EmailStore } from './email.store';

const DEFAULT_PAGE = 20;

/** Emails as the services that sent them see them: one by id, or a page of them. */
@Injectable()
export class EmailQueriesService {
  constructor(private readonly emails: EmailStore) {}

  async get(caller: Caller, id: string): Promise<EmailStatusDto> {
    return toStatusDto(visibleRecord(caller, id, await this.emails.find(id)));
  }

  /** The caller's emails, newest first (an admin may name another service, or `*` for all). */
  async list(
    caller: Caller,
    query: { status?: EmailStatus; limit?: number; cursor?: string; service?: string },
  ): Promise<EmailListDto> {
    const service = listedService(caller, query.service);
    const page = await this.emails.page(
      {
        limit: query.limit ?? DEFAULT_PAGE,
        ...(service ? { service } : {}),
        ...(query.status ? { status: query.status } : {}),
      },
      decodeCursor(query.cursor),
    );
    return { items: page.items.map(toStatusDto), nextCursor: nextCursorOf(page.next) };
  }
}
