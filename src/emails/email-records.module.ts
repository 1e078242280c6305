import { Module } from '@nestjs/common';
import { EmailRepository } from './email.repository';

/** The email store alone, for processes that deliver but do not serve the API. */
@Module({
  providers: [EmailRepository],
  exports: [EmailRepository],
})
export class EmailRecordsModule {}
