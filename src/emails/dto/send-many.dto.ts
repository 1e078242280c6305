import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { PRIORITIES, type Priority } from '../../queue/queue-names';
import { TEMPLATE_NAME_PATTERN } from '../../templates/template-name';
import { GROUP_NAME_PATTERN, GroupMemberDto } from '../../groups/dto/group.dto';
import { IsDateTime, SatisfiesRule } from '../../common/validators';
import { SendEmailDto } from './send-email.dto';

export const MAX_BATCH = 500;
export const MAX_GROUP_RECIPIENTS = 10_000;

/** `POST /api/v1/emails/batch`: up to 500 emails, all valid or none accepted. */
export class SendBatchDto {
  @ApiProperty({ type: [SendEmailDto], minItems: 1, maxItems: MAX_BATCH })
  @IsArray({ message: 'must be a list of emails' })
  @ArrayMinSize(1, { message: 'must hold at least one email' })
  @ArrayMaxSize(MAX_BATCH, { message: `must hold at most ${MAX_BATCH} emails` })
  @ValidateNested({ each: true })
  @Type(() => SendEmailDto)
  emails!: SendEmailDto[];
}

export class BatchAcceptedDto {
  @ApiProperty({ example: ['019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d', '019b7a52-6c1f-7e11-8a2b-8e4c1a2b3c4d'] })
  ids!: string[];
}

/** `POST /api/v1/emails/group`: one template, personalised for each recipient of a list or a named group. */
export class SendGroupDto {
  @ApiPropertyOptional({
    type: [GroupMemberDto],
    maxItems: MAX_GROUP_RECIPIENTS,
    description: 'The recipients, each with data of their own (or give `group`)',
  })
  @IsOptional()
  @IsArray({ message: 'must be a list of recipients' })
  @ArrayMinSize(1, { message: 'must name at least one recipient' })
  @ArrayMaxSize(MAX_GROUP_RECIPIENTS, { message: `must hold at most ${MAX_GROUP_RECIPIENTS} recipients` })
  @ValidateNested({ each: true })
  @Type(() => GroupMemberDto)
  @SatisfiesRule('recipientsOrGroup', (value, o) =>
    (value === undefined) === (o['group'] === undefined)
      ? 'give either recipients or group (exactly one)'
      : undefined,
  )
  recipients?: GroupMemberDto[];

  @ApiPropertyOptional({
    example: 'beta-testers',
    description: 'A named group (see PUT /api/v1/groups/{name})',
  })
  @IsOptional()
  @Matches(GROUP_NAME_PATTERN, { message: 'must be a group name: lower-case letters, digits, - and _' })
  group?: string;

  @ApiProperty({ example: 'welcome' })
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'must be a template name: lower-case letters, digits, - and _' })
  template!: string;

  @ApiPropertyOptional({
    example: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
    description:
      "Data for every recipient (at most MAX_DATA_BYTES, 64 KiB, of JSON); each recipient's own data wins, key by key",
  })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'News from FreeFace', description: "Replaces the template's subject" })
  @IsOptional()
  @IsString()
  @Matches(/^[^\r\n]{1,998}$/, { message: 'must be 1-998 characters without line breaks' })
  subject?: string;

  @ApiPropertyOptional({ enum: PRIORITIES, default: 'medium' })
  @IsOptional()
  @IsIn(PRIORITIES, { message: `must be one of ${PRIORITIES.join(', ')}` })
  priority?: Priority;

  @ApiPropertyOptional({
    example: '2026-12-01T09:00:00Z',
    description: 'Deliver at this time (see POST /emails)',
  })
  @IsOptional()
  @IsDateTime()
  sendAt?: string;
}

export class GroupAcceptedDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  groupId!: string;

  @ApiProperty({ example: ['019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d'] })
  ids!: string[];

  @ApiProperty({ example: 1 })
  count!: number;
}
