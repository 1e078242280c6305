import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PRIORITIES, type Priority } from '../../queue/queue-names';
import { SUPPRESSION_REASONS, type SuppressionReason } from '../../suppressions/suppression.store';
import { EMAIL_STATUSES, type EmailStatus } from '../../common/email-status';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';

export class EmailAcceptedDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ enum: ['queued', 'scheduled'], example: 'queued' })
  status!: EmailStatus;

  @ApiProperty({ enum: PRIORITIES, example: 'medium' })
  priority!: Priority;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'When it is due, if scheduled' })
  sendAt!: string | null;
}

export class SuppressedRecipientDto {
  @ApiProperty({ example: 'ana@example.com' })
  email!: string;

  @ApiProperty({ enum: SUPPRESSION_REASONS, example: 'hard_bounce' })
  reason!: SuppressionReason;
}

export class EmailStatusDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ enum: EMAIL_STATUSES, example: 'sent' })
  status!: EmailStatus;

  @ApiProperty({ enum: PRIORITIES, example: 'medium' })
  priority!: Priority;

  @ApiProperty({ type: String, nullable: true, example: 'smtp', description: 'Provider of the last attempt' })
  provider!: string | null;

  @ApiProperty({ example: 1 })
  attempts!: number;

  @ApiProperty({ example: 3 })
  maxAttempts!: number;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ type: String, nullable: true, example: null })
  sendAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-26T10:00:01.250Z' })
  sentAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '<019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d@example.com>',
  })
  providerMessageId!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null, description: "The last failure's reason" })
  lastError!: string | null;

  @ApiProperty({ example: 'billing-api', description: 'The service that sent it' })
  service!: string;

  @ApiProperty({ example: ['ana@example.com'] })
  to!: string[];

  @ApiProperty({ example: 'Welcome to FreeFace' })
  subject!: string;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'welcome' })
  template!: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: null, description: 'Its group notification' })
  groupId!: string | null;

  @ApiProperty({ example: ['signup'] })
  tags!: string[];

  @ApiProperty({ example: { userId: '42' } })
  metadata!: Record<string, string>;

  @ApiProperty({
    type: [SuppressedRecipientDto],
    description: 'Recipients left out because they are on the suppression list (none: [])',
  })
  suppressed!: SuppressedRecipientDto[];
}

export class EmailListDto {
  @ApiProperty({ type: [EmailStatusDto] })
  items!: EmailStatusDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class EmailListQueryDto {
  @ApiPropertyOptional({ enum: EMAIL_STATUSES })
  @IsOptional()
  @IsIn(EMAIL_STATUSES, { message: `must be one of ${EMAIL_STATUSES.join(', ')}` })
  status?: EmailStatus;

  @PageLimit(100, 20)
  limit?: number;

  @PageCursor()
  cursor?: string;

  @ApiPropertyOptional({
    description: 'Admin only: another service, or * for every service',
    example: 'billing-api',
  })
  @IsOptional()
  @Matches(/^(\*|[a-z0-9][a-z0-9-]*)$/, { message: 'must be a service name or *' })
  service?: string;
}

export class EmailCancelledDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ example: 'cancelled' })
  status!: 'cancelled';
}
