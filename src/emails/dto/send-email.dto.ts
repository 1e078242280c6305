import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsIn,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  ValidateNested,
} from 'class-validator';
import { WRITTEN_AS_STRING } from '../../common/validation-errors';
import { PROVIDER_NAMES } from '../../config/env.schema';
import { IsDateTime, IsHeaderSafeString, IsStringMap, SatisfiesRule } from '../../common/validators';
import { MailboxDto } from '../../common/mailbox.dto';
import { PRIORITIES, type Priority } from '../../queue/queue-names';
import { TEMPLATE_NAME_PATTERN } from '../../templates/template-name';
import { reservedHeaderProblem } from '../reserved-headers';

export const MAX_RECIPIENTS = 50;

/** A recipient (to, cc, bcc, replyTo): its own schema name in the API document. */
export class RecipientDto extends MailboxDto {}

/** `"a@x"` or `{ email, name }` → RecipientDto; a bare string keeps a mark so errors point at `to[0]`. */
function toRecipient(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return plainToInstance(RecipientDto, value);
  const recipient = plainToInstance(RecipientDto, { email: value });
  Object.defineProperty(recipient, WRITTEN_AS_STRING, { value: true, enumerable: false });
  return recipient;
}

const toRecipientList = ({ value }: { value: unknown }) =>
  value === undefined || value === null ? value : (Array.isArray(value) ? value : [value]).map(toRecipient);
const toSingleRecipient = ({ value }: { value: unknown }) =>
  value === undefined || value === null ? value : toRecipient(value);

const RECIPIENT_SCHEMA = {
  oneOf: [
    { type: 'string', format: 'email', example: 'ana@example.com' },
    { $ref: getSchemaPath(RecipientDto) },
  ],
};

export class AttachmentDto {
  @ApiProperty({ example: 'invoice.pdf', maxLength: 255 })
  @IsHeaderSafeString(255)
  @Matches(/^[^/\\]+$/, { message: 'must be a file name without a path' })
  filename!: string;

  @ApiProperty({ description: 'The file, base64-encoded', example: 'JVBERi0xLjQK' })
  @IsString()
  @IsBase64({}, { message: 'must be base64' })
  content!: string;

  @ApiPropertyOptional({ example: 'application/pdf', description: 'Guessed from the file name when absent' })
  @IsOptional()
  @Matches(/^[\w.+-]+\/[\w.+-]+$/, { message: 'must be a MIME type such as application/pdf' })
  contentType?: string;

  @ApiPropertyOptional({
    example: 'logo@freeface',
    description: 'Content-ID, to show the file inline via cid:',
  })
  @IsOptional()
  @IsHeaderSafeString(200)
  contentId?: string;
}

const hasTemplate = (o: Record<string, unknown>) => o['template'] !== undefined;

/** The body of `POST /api/v1/emails`: inline content (subject + text/html) or a template with data. */
export class SendEmailDto {
  @ApiProperty({
    description: `Recipients: addresses or { email, name }; 1-${MAX_RECIPIENTS} over to, cc and bcc together`,
    type: 'array',
    items: RECIPIENT_SCHEMA,
    example: ['ana@example.com', { email: 'bo@example.com', name: 'Bo' }],
  })
  @Transform(toRecipientList)
  @IsArray({ message: 'must be a list of recipients' })
  @ArrayMinSize(1, { message: 'must name at least one recipient' })
  @ValidateNested({ each: true })
  @SatisfiesRule('recipientCount', (_value, o) => {
    const count = ['to', 'cc', 'bcc'].reduce(
      (n, key) => n + (Array.isArray(o[key]) ? (o[key] as []).length : 0),
      0,
    );
    return count > MAX_RECIPIENTS ? `at most ${MAX_RECIPIENTS} recipients over to, cc and bcc` : undefined;
  })
  to!: RecipientDto[];

  @ApiPropertyOptional({ type: 'array', items: RECIPIENT_SCHEMA, example: [] })
  @IsOptional()
  @Transform(toRecipientList)
  @IsArray({ message: 'must be a list of recipients' })
  @ValidateNested({ each: true })
  cc?: RecipientDto[];

  @ApiPropertyOptional({ type: 'array', items: RECIPIENT_SCHEMA, example: [] })
  @IsOptional()
  @Transform(toRecipientList)
  @IsArray({ message: 'must be a list of recipients' })
  @ValidateNested({ each: true })
  bcc?: RecipientDto[];

  @ApiPropertyOptional({ ...RECIPIENT_SCHEMA, description: 'Defaults to EMAIL_FROM' })
  @IsOptional()
  @Transform(toSingleRecipient)
  @ValidateNested()
  from?: RecipientDto;

  @ApiPropertyOptional({ ...RECIPIENT_SCHEMA, example: 'support@example.com' })
  @IsOptional()
  @Transform(toSingleRecipient)
  @ValidateNested()
  replyTo?: RecipientDto;

  @ApiPropertyOptional({
    example: 'Welcome to FreeFace',
    maxLength: 998,
    description: "Required without a template; with one it replaces the template's subject",
  })
  @SatisfiesRule('subject', (value, o) => {
    if (value === undefined) return hasTemplate(o) ? undefined : 'is required unless a template is given';
    if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty string';
    if (value.length > 998) return 'must be at most 998 characters';
    return /[\r\n]/.test(value) ? 'must not contain line breaks' : undefined;
  })
  subject?: string;

  @ApiPropertyOptional({ example: 'Hello Ana, welcome aboard.' })
  @SatisfiesRule('text', (value, o) => {
    if (value === undefined) {
      return hasTemplate(o) || o['html'] !== undefined
        ? undefined
        : 'is required (text or html) unless a template is given';
    }
    if (hasTemplate(o)) return 'cannot be combined with template';
    return typeof value === 'string' ? undefined : 'must be a string';
  })
  text?: string;

  @ApiPropertyOptional({ example: '<p>Hello Ana, welcome aboard.</p>' })
  @SatisfiesRule('html', (value, o) => {
    if (value === undefined) return undefined;
    if (hasTemplate(o)) return 'cannot be combined with template';
    return typeof value === 'string' ? undefined : 'must be a string';
  })
  html?: string;

  @ApiPropertyOptional({ example: 'welcome', description: 'A template name (see GET /api/v1/templates)' })
  @IsOptional()
  @Matches(TEMPLATE_NAME_PATTERN, { message: 'must be a template name: lower-case letters, digits, - and _' })
  template?: string;

  @ApiPropertyOptional({
    example: { name: 'Ana' },
    description: "The template's variables (at most MAX_DATA_BYTES, 64 KiB, of JSON)",
  })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  @SatisfiesRule('data', (_value, o) => (hasTemplate(o) ? undefined : 'is only used with template'))
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ enum: PRIORITIES, default: 'medium' })
  @IsOptional()
  @IsIn(PRIORITIES, { message: `must be one of ${PRIORITIES.join(', ')}` })
  priority?: Priority;

  @ApiPropertyOptional({
    example: '2026-12-01T09:00:00Z',
    description: 'Deliver at this time (at most MAX_SCHEDULE_DAYS ahead); absent or past means now',
  })
  @IsOptional()
  @IsDateTime()
  sendAt?: string;

  @ApiPropertyOptional({
    enum: PROVIDER_NAMES,
    description: 'Pin one provider instead of the configured chain',
  })
  @IsOptional()
  @IsIn(PROVIDER_NAMES, { message: `must be one of ${PROVIDER_NAMES.join(', ')}` })
  provider?: string;

  @ApiPropertyOptional({
    example: { 'X-Campaign': 'onboarding' },
    description:
      'Extra headers. Reserved: From, To, Cc, Bcc, Subject, Date, Message-ID, Reply-To, Sender, Return-Path, ' +
      'X-Email-Id, MIME-*, Content-* (set by the service); X-SES-*, X-SMTPAPI, X-SG-*, X-Mailgun-* (provider ' +
      'instructions); Received, DKIM-Signature, ARC-*, Authentication-Results, Resent-* (trace fields)',
  })
  @IsOptional()
  @IsStringMap({
    maxEntries: 50,
    keyPattern: /^[!-9;-~]{1,100}$/,
    keyDescription: 'a header name (printable ASCII without ":")',
    maxValueLength: 998,
    forbiddenKey: reservedHeaderProblem,
  })
  headers?: Record<string, string>;

  @ApiPropertyOptional({ example: ['signup'], type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @Matches(/^[A-Za-z0-9_.:-]{1,100}$/, {
    each: true,
    message: 'each tag must be 1-100 of A-Z a-z 0-9 _ . : -',
  })
  tags?: string[];

  @ApiPropertyOptional({ example: { userId: '42' } })
  @IsOptional()
  @IsStringMap({
    maxEntries: 20,
    keyPattern: /^[A-Za-z0-9_.-]{1,64}$/,
    keyDescription: '1-64 of A-Z a-z 0-9 _ . -',
    maxValueLength: 500,
  })
  metadata?: Record<string, string>;

  @ApiPropertyOptional({ type: [AttachmentDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => AttachmentDto)
  attachments?: AttachmentDto[];
}
