import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

/* Every list of the API pages the same way (`{ items, nextCursor }`, `?limit=&cursor=`): these are its fields. */

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
    description: 'Pass as cursor for the next page',
  });
