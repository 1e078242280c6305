import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScope } from '../auth/auth.decorators';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { notFound } from '../common/problem-error';
import { GROUP_NAME_PATTERN, GroupDto, GroupListDto, GroupListQueryDto, PutGroupDto } from './dto/group.dto';
import { GroupsService } from './groups.service';

const checkName = (name: string) => {
  if (!GROUP_NAME_PATTERN.test(name)) throw notFound(`Group "${name.slice(0, 64)}"`);
};

@ApiTags('groups')
@Controller('api/v1/groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({ summary: 'Named recipient groups, by name' })
  @ApiOkResponse({ type: GroupListDto })
  @ApiProblemResponses(400, 503)
  list(@Query() query: GroupListQueryDto): Promise<GroupListDto> {
    return this.groups.list(query.limit, query.cursor);
  }

  @Get(':name')
  @RequireScope('admin')
  @ApiOperation({ summary: 'One group and its members' })
  @ApiOkResponse({ type: GroupDto })
  @ApiProblemResponses(404, 503)
  get(@Param('name') name: string): Promise<GroupDto> {
    checkName(name);
    return this.groups.get(name);
  }

  @Put(':name')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Create or replace a group (201 when created, 200 when replaced)' })
  @ApiOkResponse({ type: GroupDto })
  @ApiProblemResponses(400, 404, 413, 415, 503)
  async put(
    @Param('name') name: string,
    @Body() body: PutGroupDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GroupDto> {
    checkName(name);
    const { group, created } = await this.groups.put(name, body.members);
    void reply.status(created ? 201 : 200);
    return group;
  }

  @Delete(':name')
  @HttpCode(204)
  @RequireScope('admin')
  @ApiOperation({ summary: 'Delete a group' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblemResponses(404, 503)
  async delete(@Param('name') name: string): Promise<void> {
    checkName(name);
    await this.groups.delete(name);
  }
}
