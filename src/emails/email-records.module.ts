import { Module } from '@nestjs/common';
import { EmailRepository } from './email.repository';
import { GroupDataStore } from './group-data.store';

/** The email records and group data alone, for processes that deliver but do not serve the API. */
@Module({
  providers: [EmailRepository, GroupDataStore],
  exports: [EmailRepository, GroupDataStore],
})
export class EmailRecordsModule {}
