import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/* Every list of the API pages the same way (`{ items, nextCursor }`, `?limit=&cursor=`): these are its fields. */

/**
 * Index entries one page of a list may examine. A filter that matches rarely (or a run of expired entries)
 * would otherwise read the whole index in one call; past this many, the page ends with what it found (maybe
 * nothing) and a nextCursor where it stopped.
 */
export const MAX_SCANNED_PER_PAGE = 1000;

/** What every filtered list says of its pages, in the API reference. */
export const BOUNDED_SCAN_NOTE =
  `One page examines at most ${MAX_SCANNED_PER_PAGE.toLocaleString('en-US')} entries of the list: when a filter ` +
  'matches few of them, a page may hold fewer than `limit` items, even none, and still have a nextCursor. ' +
  'Follow nextCursor until it is null to see every match.';

/** `limit` of a list query: a whole number from 1 to `max`, `defaultValue` when absent. */
export const PageLimit = (max: number, defaultValue: number) =>
  applyDecorators(
    ApiPropertyOptional({ minimum: 1, maximum: max, default: defaultValue }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: 'must be a whole number' }),
    Min(1),
    Max(max),
  );

/** `cursor` of a list query: the `nextCursor` of the page before (each list checks its own form). */
export const PageCursor = () =>
  applyDecorators(
    ApiPropertyOptional({ description: 'nextCursor of the previous page' }),
    IsOptional(),
    IsString(),
  );

/** `nextCursor` of a page: where the next one starts, or null after the last. */
export const NextCursor = () =>
  ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description:
      'Pass as cursor for the next page; null after the last. A page may hold fewer than limit items (even ' +
      'none) and still have one: only null ends the list.',
  });
