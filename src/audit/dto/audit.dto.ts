import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { AUDIT_TRAIL_EVENTS, type AuditEntry } from '../audit.store';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';
import { IsDateTime } from '../../common/validators';

export class AuditEntryDto {
  @ApiProperty({ example: '2026-11-26T10:00:00.120Z' })
  at!: string;

  @ApiProperty({ enum: AUDIT_TRAIL_EVENTS, example: 'sent' })
  event!: AuditEntry['event'];

  @ApiProperty({ example: 'billing-api' })
  service!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d',
    description:
      'null for an event about a webhook (webhook_paused, webhook_resumed): detail.webhookId names it',
  })
  emailId!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '7b1f9f0e-3c1a-4c1e-9a57-3f1f3e0b8a11' })
  requestId!: string | null;

  @ApiProperty({ example: { provider: 'smtp', attempt: 1, providerMessageId: '<019b…@example.com>' } })
  detail!: Record<string, unknown>;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] })
  items!: AuditEntryDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class AuditQueryDto {
  @ApiPropertyOptional({
    description: 'A service (admin: any; others: their own only)',
    example: 'billing-api',
  })
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]*$/, { message: 'must be a service name' })
  service?: string;

  @ApiPropertyOptional({ enum: AUDIT_TRAIL_EVENTS })
  @IsOptional()
  @IsIn(AUDIT_TRAIL_EVENTS, { message: `must be one of ${AUDIT_TRAIL_EVENTS.join(', ')}` })
  event?: AuditEntry['event'];

  @ApiPropertyOptional({ example: '2026-11-26T00:00:00Z', description: 'Events at or after this time' })
  @IsOptional()
  @IsDateTime()
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-27T00:00:00Z', description: 'Events at or before this time' })
  @IsOptional()
  @IsDateTime()
  to?: string;

  @PageLimit(200, 50)
  limit?: number;

  @PageCursor()
  @Matches(/^\d+-\d+(~[a-z0-9-]+(@p\d{1,2})?)?$/, { message: 'must be a nextCursor from a previous page' })
  cursor?: string;
}
