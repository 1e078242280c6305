import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../auth/auth.decorators';
import { ProblemResponseDto } from '../common/problem-response.dto';
import { notReadyProblem } from './readiness-problem';
import { ReadinessService } from './readiness.service';

/** The probes' routes, on every port. */
export const HEALTH_PATHS = ['/health', '/health/ready'] as const;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process can serve; checks no dependency' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: Redis reachable, queues open, a provider configured' })
  @ApiOkResponse({
    schema: {
      example: {
        status: 'ok',
        info: { redis: { status: 'up' }, queues: { status: 'up' }, providers: { status: 'up' } },
      },
    },
  })
  @ApiServiceUnavailableResponse({ type: ProblemResponseDto, description: 'A dependency is down' })
  async ready(): Promise<HealthCheckResult> {
    const result = await this.readiness.check();
    if (result.status !== 'ok') throw notReadyProblem(result);
    return result;
  }
}
