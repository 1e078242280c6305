import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PROVIDER_NAMES } from '../../config/env.schema';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';

export class DeadLetterDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ example: 'billing-api' })
  service!: string;

  @ApiProperty({ example: 'medium' })
  priority!: string;

  @ApiProperty({ type: String, nullable: true, example: 'smtp', description: 'Provider of the last attempt' })
  provider!: string | null;

  @ApiProperty({ example: 1 })
  attempts!: number;

  @ApiProperty({ example: 3 })
  maxAttempts!: number;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '550 5.1.1 <nobody@example.com>: Recipient address rejected',
  })
  lastError!: string | null;

  @ApiProperty({ example: '2026-11-26T10:00:02.000Z' })
  deadAt!: string;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: ['nobody@example.com'] })
  to!: string[];

  @ApiProperty({ example: 'Your invoice' })
  subject!: string;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] })
  items!: DeadLetterDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class DeadLetterQueryDto {
  @PageLimit(100, 20)
  limit?: number;

  @PageCursor()
  cursor?: string;

  @ApiPropertyOptional({
    enum: PROVIDER_NAMES,
    description: 'Only those whose last attempt went to this provider',
  })
  @IsOptional()
  @IsIn(PROVIDER_NAMES, { message: `must be one of ${PROVIDER_NAMES.join(', ')}` })
  provider?: string;
}

export class RetryAllQueryDto {
  @ApiPropertyOptional({
    enum: PROVIDER_NAMES,
    description: 'Only those whose last attempt went to this provider',
  })
  @IsOptional()
  @IsIn(PROVIDER_NAMES, { message: `must be one of ${PROVIDER_NAMES.join(', ')}` })
  provider?: string;
}

export class RetriedDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ example: 'queued' })
  status!: string;
}

export class RetriedManyDto {
  @ApiProperty({ example: 2 })
  retried!: number;

  @ApiProperty({ example: ['019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d', '019b7a52-7777-7d3a-9f2b-8e4c1a2b3c4d'] })
  ids!: string[];
}
