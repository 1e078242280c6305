import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'to[0]' })
  field!: string;

  @ApiProperty({ example: 'must be an email address' })
  message!: string;
}

/** RFC 9457 problem details, the body of every error (`application/problem+json`). */
export class ProblemResponseDto {
  @ApiProperty({ example: 'urn:freeface:problem:validation-error' })
  type!: string;

  @ApiProperty({ example: 'The request is not valid' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiProperty({ example: 'See errors for each field that needs fixing.' })
  detail!: string;

  @ApiProperty({ example: '7b1f9f0e-3c1a-4c1e-9a57-3f1f3e0b8a11' })
  requestId!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];
}
