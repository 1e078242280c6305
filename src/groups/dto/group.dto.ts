import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsOptional, ValidateNested } from 'class-validator';
import { SatisfiesRule } from '../../common/validators';
import { MailboxDto } from '../../common/mailbox.dto';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';

/** A group's name: lower-case letters, digits, - and _ (it is part of a URL and of a Redis key). */
export const GROUP_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MAX_GROUP_MEMBERS = 10_000;

export class GroupMemberDto extends MailboxDto {
  @ApiPropertyOptional({
    example: { firstName: 'Ana', plan: 'pro' },
    description: "This recipient's template data (at most MAX_DATA_BYTES, 64 KiB, of JSON)",
  })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  data?: Record<string, unknown>;
}

export class PutGroupDto {
  @ApiProperty({ type: [GroupMemberDto], minItems: 1, maxItems: MAX_GROUP_MEMBERS })
  @IsArray({ message: 'must be a list of members' })
  @ArrayMinSize(1, { message: 'must hold at least one member' })
  @ArrayMaxSize(MAX_GROUP_MEMBERS, { message: `must hold at most ${MAX_GROUP_MEMBERS} members` })
  @ValidateNested({ each: true })
  @Type(() => GroupMemberDto)
  @SatisfiesRule('uniqueMembers', (value) => {
    if (!Array.isArray(value)) return undefined;
    const seen = new Set<string>();
    for (const member of value as { email?: unknown }[]) {
      const email = typeof member?.email === 'string' ? member.email.toLowerCase() : undefined;
      if (email && seen.has(email)) return `lists ${email} more than once`;
      if (email) seen.add(email);
    }
    return undefined;
  })
  members!: GroupMemberDto[];
}

export class GroupDto {
  @ApiProperty({ example: 'beta-testers' })
  name!: string;

  @ApiProperty({ type: [GroupMemberDto] })
  members!: GroupMemberDto[];

  @ApiProperty({ example: 1 })
  count!: number;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  updatedAt!: string;
}

export class GroupSummaryDto {
  @ApiProperty({ example: 'beta-testers' })
  name!: string;

  @ApiProperty({ example: 120 })
  count!: number;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  updatedAt!: string;
}

export class GroupListDto {
  @ApiProperty({ type: [GroupSummaryDto] })
  items!: GroupSummaryDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class GroupListQueryDto {
  @PageLimit(100, 50)
  limit?: number;

  @PageCursor()
  cursor?: string;
}
