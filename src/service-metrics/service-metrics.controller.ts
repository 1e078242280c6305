import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { CurrentCaller, type Caller } from '../auth/caller';
import { ApiProblemResponses } from '../common/api-problem-responses';
import type { ServiceFigures } from './service-metrics.recorder';
import { ServiceMetricsService } from './service-metrics.service';

@ApiTags('operations')
@Controller('api/v1/service-metrics')
export class ServiceMetricsController {
  constructor(private readonly metrics: ServiceMetricsService) {}

  @Get()
  @RequireScope('read')
  @ApiOperation({
    summary:
      'Per calling service: calls (in all and per endpoint), emails accepted/sent/failed/dead, last call',
    description:
      'Keyed by service name; the caller’s own figures, or every service’s for an admin. Summed over all replicas.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        'billing-api': {
          calls: 12,
          emailsAccepted: 10,
          emailsSent: 9,
          emailsFailed: 1,
          emailsDead: 0,
          endpoints: { 'POST /api/v1/emails': 10, 'GET /api/v1/emails/:id': 2 },
          lastCallAt: '2026-11-26T10:00:00.000Z',
        },
      },
    },
  })
  @ApiProblemResponses(503)
  get(@CurrentCaller() caller: Caller): Promise<Record<string, ServiceFigures>> {
    return this.metrics.figures(caller);
  }
}
