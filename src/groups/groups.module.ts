import { Module } from '@nestjs/common';
import { GroupRepository } from './group.repository';
import { GroupsService } from './groups.service';

/** Recipient groups, managed through the API (GroupsController) and sent to by EmailsService. */
@Module({
  providers: [GroupRepository, GroupsService],
  exports: [GroupsService],
})
export class GroupsModule {}
