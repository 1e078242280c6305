import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { IsMailAddress } from '../../common/validators';
import { SUPPRESSION_REASONS, type SuppressionReason } from '../suppression.store';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';

export class SuppressionDto {
  @ApiProperty({ example: 'ana@example.com', description: 'Lower-cased' })
  email!: string;

  @ApiProperty({ enum: SUPPRESSION_REASONS, example: 'hard_bounce' })
  reason!: SuppressionReason;

  @ApiProperty({
    example: 'api:ops',
    description: 'Who added it: api:<service>, or the provider that reported it',
  })
  source!: string;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'When it leaves the list (SUPPRESSION_TTL_DAYS); null: kept until removed',
  })
  expiresAt!: string | null;
}

export class SuppressionPageDto {
  @ApiProperty({ type: [SuppressionDto] })
  items!: SuppressionDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class SuppressionQueryDto {
  @ApiPropertyOptional({
    example: 'ana@example.com',
    description: 'Look up one address (case does not matter)',
  })
  @IsOptional()
  @IsString()
  email?: string;

  @PageLimit(200, 50)
  limit?: number;

  @PageCursor()
  cursor?: string;
}

export class CreateSuppressionDto {
  @ApiProperty({ example: 'ana@example.com' })
  @IsMailAddress()
  email!: string;

  @ApiProperty({ enum: SUPPRESSION_REASONS, example: 'manual' })
  @IsIn(SUPPRESSION_REASONS, { message: `must be one of ${SUPPRESSION_REASONS.join(', ')}` })
  reason!: SuppressionReason;
}
