import { Module } from '@nestjs/common';
import { GroupStore } from './group.store';
import { GroupsService } from './groups.service';

/** Recipient groups, managed through the API (GroupsController) and sent to by EmailsService. */
@Module({
  providers: [GroupStore, GroupsService],
  exports: [GroupsService],
})
export class GroupsModule {}
