import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { decodeCursor, nextCursorOf } from '../common/cursor';
import { notFound } from '../common/problem-error';
import type { CreateSuppressionDto, SuppressionDto, SuppressionPageDto } from './dto/suppression.dto';
import { SuppressionStore, type Suppression } from './suppression.store';

const DEFAULT_PAGE = 50;
/** A cursor's id here is an address: anything on one line (it is the last field, so a colon in it is fine). */
const ADDRESS_ID = /[^\r\n]+/;

/** Reading and editing the suppression list through the API. */
@Injectable()
export class SuppressionsService {
  constructor(private readonly store: SuppressionStore) {}

  async list(query: { email?: string; limit?: number; cursor?: string }): Promise<SuppressionPageDto> {
    if (query.email !== undefined) {
      const entry = await this.store.find(query.email);
      return { items: entry ? [toDto(entry)] : [], nextCursor: null };
    }
    const limit = query.limit ?? DEFAULT_PAGE;
    const page = await this.store.page(limit, decodeCursor(query.cursor, ADDRESS_ID));
    return { items: page.items.map(toDto), nextCursor: nextCursorOf(page.next) };
  }

  async add(caller: Caller, dto: CreateSuppressionDto): Promise<SuppressionDto> {
    return toDto(await this.store.add(dto.email, dto.reason, `api:${caller.service}`));
  }

  async remove(email: string): Promise<void> {
    if (!(await this.store.remove(email))) throw notFound(`Suppression of ${email.slice(0, 254)}`);
  }
}

function toDto(entry: Suppression): SuppressionDto {
  return {
    email: entry.email,
    reason: entry.reason,
    source: entry.source,
    createdAt: new Date(entry.createdAt).toISOString(),
    expiresAt: entry.expiresAt === undefined ? null : new Date(entry.expiresAt).toISOString(),
  };
}
