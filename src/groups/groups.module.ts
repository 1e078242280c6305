import { Module } from '@nestjs/common';
import { GroupRepository } from './group.repository';
import { GroupsController } from './groups.controller';
import { GroupsService } from './groups.service';

@Module({
  controllers: [GroupsController],
  providers: [GroupRepository, GroupsService],
  exports: [GroupsService],
})
export class GroupsModule {}
