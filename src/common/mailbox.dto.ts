import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsHeaderSafeString, IsMailAddress } from './validators';

/** An address and its optional display name, as every request that names a person takes them. */
export class MailboxDto {
  @ApiProperty({ example: 'ana@example.com' })
  @IsMailAddress()
  email!: string;

  @ApiPropertyOptional({ example: 'Ana', maxLength: 200 })
  @IsOptional()
  @IsHeaderSafeString(200)
  name?: string;
}
