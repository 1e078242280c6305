import { Injectable } from '@nestjs/common';
import { notFound, ProblemError } from '../common/problem-error';
import { AppConfig } from '../config/app-config';
import { assertDataWithin } from '../common/data-limit';
import { AppLogger } from '../logging/app-logger';
import type { GroupDto, GroupListDto, GroupMemberDto } from './dto/group.dto';
import { GroupStore, type GroupMember } from './group.store';

const DEFAULT_PAGE = 50;

/** Named recipient groups, managed by admins and used by group notifications. */
@Injectable()
export class GroupsService {
  constructor(
    private readonly groups: GroupStore,
    private readonly logger: AppLogger,
    private readonly config: AppConfig,
  ) {
    this.logger.setContext('groups');
  }

  /** Creates or replaces a group; returns it and whether it is new. Each member's data is held to MAX_DATA_BYTES. */
  async put(name: string, members: GroupMemberDto[]): Promise<{ group: GroupDto; created: boolean }> {
    assertDataWithin(
      this.config.email.maxDataBytes,
      members.map((member, index) => [`members[${index}].data`, member.data]),
    );
    const stored = { members: members.map(toMember), updatedAt: Date.now() };
    const created = await this.groups.put(name, stored);
    this.logger.info({ group: name, members: members.length, created }, 'group saved');
    return { group: toDto(name, stored), created };
  }

  async get(name: string): Promise<GroupDto> {
    const group = await this.groups.get(name);
    if (!group) throw notFound(`Group "${name}"`);
    return toDto(name, group);
  }

  /** The members of a group, for a group notification (422 there when it does not exist). */
  async membersOf(name: string): Promise<GroupMember[]> {
    const group = await this.groups.get(name);
    if (!group) {
      throw new ProblemError(422, 'validation-error', `group "${name}" does not exist`, {
        errors: [{ field: 'group', message: 'no group has this name (see GET /api/v1/groups)' }],
      });
    }
    return group.members;
  }

  async list(limit = DEFAULT_PAGE, cursor?: string): Promise<GroupListDto> {
    const after = cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : undefined;
    const page = await this.groups.list(limit + 1, after);
    const items = page.slice(0, limit).map((g) => ({ ...g, updatedAt: new Date(g.updatedAt).toISOString() }));
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: page.length > limit && last ? Buffer.from(last.name).toString('base64url') : null,
    };
  }

  async delete(name: string): Promise<void> {
    if (!(await this.groups.delete(name))) throw notFound(`Group "${name}"`);
    this.logger.info({ group: name }, 'group deleted');
  }
}

function toMember(dto: GroupMemberDto): GroupMember {
  return {
    email: dto.email,
    ...(dto.name ? { name: dto.name } : {}),
    ...(dto.data ? { data: dto.data } : {}),
  };
}

function toDto(name: string, group: { members: GroupMember[]; updatedAt: number }): GroupDto {
  return {
    name,
    members: group.members,
    count: group.members.length,
    updatedAt: new Date(group.updatedAt).toISOString(),
  };
}
