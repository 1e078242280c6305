import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { IsHeaderSafeString } from '../../common/validators';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../webhook-deliveries.store';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../webhook-event-types';
import { NextCursor, PageCursor, PageLimit } from '../../common/paging';

export const WEBHOOK_STATUSES = ['active', 'paused'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://hooks.example.com/freeface',
    description:
      'Where events are POSTed: https outside development, a host allowed by WEBHOOK_ALLOWED_HOSTS; loopback, ' +
      'private, CGNAT, NAT64 and link-local addresses are refused unless WEBHOOK_ALLOWED_HOSTS names them',
  })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['email.sent', 'email.bounced'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENT_TYPES.length)
  @ArrayUnique()
  @IsIn(WEBHOOK_EVENT_TYPES, { each: true, message: `each must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}` })
  events!: WebhookEventType[];

  @ApiPropertyOptional({ example: 'billing status updates', maxLength: 200 })
  @IsOptional()
  @IsHeaderSafeString(200)
  description?: string;
}

export class WebhookDto {
  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({ example: 'https://hooks.example.com/freeface' })
  url!: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['email.sent', 'email.bounced'] })
  events!: WebhookEventType[];

  @ApiProperty({ type: String, nullable: true, example: 'billing status updates' })
  description!: string | null;

  @ApiProperty({ example: 'billing', description: 'The service that made it' })
  service!: string;

  @ApiProperty({
    example: false,
    description: "Made by an admin service: gets every service's events, not only its own",
  })
  allServices!: boolean;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({
    enum: WEBHOOK_STATUSES,
    example: 'active',
    description:
      'paused: it kept timing out (WEBHOOK_PAUSE_AFTER_TIMEOUTS attempts in a row without an answer); its ' +
      'deliveries are held, not spent, until POST /api/v1/webhooks/{id}/resume',
  })
  status!: WebhookStatus;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'When it was paused' })
  pausedAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why it was paused, e.g. "no answer within 10 s to 10 attempts in a row"',
  })
  pausedReason!: string | null;
}

export class CreatedWebhookDto extends WebhookDto {
  @ApiProperty({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw0AhWkWmtbCQ=',
    description: 'Signs every delivery (Standard Webhooks). Shown only in this response: keep it now',
  })
  secret!: string;
}

export class WebhookPageDto {
  @ApiProperty({ type: [WebhookDto] })
  items!: WebhookDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ example: '019b7a52-7d00-7a3a-9f2b-8e4c1a2b3c4d' })
  id!: string;

  @ApiProperty({
    example: '019b7a52-7cff-7a3a-9f2b-8e4c1a2b3c4d',
    description: 'The webhook-id header: one per event',
  })
  eventId!: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, example: 'email.sent' })
  type!: WebhookEventType;

  @ApiProperty({ example: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d' })
  emailId!: string;

  @ApiProperty({ enum: DELIVERY_STATUSES, example: 'succeeded' })
  status!: DeliveryStatus;

  @ApiProperty({ example: 1 })
  attempts!: number;

  @ApiProperty({ example: '2026-11-26T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-26T10:00:00.120Z' })
  lastAttemptAt!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'When the next retry is due, roughly',
  })
  nextAttemptAt!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: "The receiver's last HTTP status" })
  responseStatus!: number | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  lastError!: string | null;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto] })
  items!: WebhookDeliveryDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class PageQueryDto {
  @PageLimit(200, 50)
  limit?: number;

  @PageCursor()
  cursor?: string;
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES, { message: `must be one of ${DELIVERY_STATUSES.join(', ')}` })
  status?: DeliveryStatus;
}
