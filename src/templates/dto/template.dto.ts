import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional } from 'class-validator';
import { NextCursor } from '../../common/paging';

export class TemplateDto {
  @ApiProperty({ example: 'welcome' })
  name!: string;

  @ApiProperty({ example: ['actionUrl', 'name', 'product'], description: 'Data paths the template reads' })
  variables!: string[];

  @ApiProperty({
    example: ['subject', 'html'],
    description: 'Files the template has; text is made from html if absent',
  })
  parts!: string[];
}

export class TemplateListDto {
  @ApiProperty({ type: [TemplateDto] })
  items!: TemplateDto[];

  @NextCursor()
  nextCursor!: string | null;
}

export class PreviewTemplateDto {
  @ApiPropertyOptional({ example: { name: 'Ana', actionUrl: 'https://app.example.com/start' } })
  @IsOptional()
  @IsObject({ message: 'must be an object' })
  data?: Record<string, unknown>;
}

export class RenderedTemplateDto {
  @ApiProperty({ example: 'Welcome to FreeFace, Ana' })
  subject!: string;

  @ApiPropertyOptional({ example: '<p>Hello Ana</p>' })
  html?: string;

  @ApiProperty({ example: 'Hello Ana' })
  text!: string;
}
