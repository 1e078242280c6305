import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireScope } from '../auth/auth.decorators';
import { ApiProblemResponses } from '../common/api-problem-responses';
import { QueueFiguresService, type QueueFigures } from './queue-figures.service';

const COUNTS = { waiting: 12, active: 3, delayed: 1, completed: 950, failed: 0 };

@ApiTags('operations')
@Controller('api/v1/queues')
export class QueuesController {
  constructor(private readonly figures: QueueFiguresService) {}

  @Get()
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'Queue depth per priority, scheduled emails, dead letters, each provider’s circuit and rate limit, ' +
      'and webhook endpoints paused for timing out',
  })
  @ApiOkResponse({
    schema: {
      example: {
        queues: { high: COUNTS, medium: COUNTS, low: COUNTS },
        scheduled: 4,
        deadLetters: 2,
        providers: {
          smtp: {
            inChain: true,
            circuit: { state: 'closed', consecutiveFailures: 0, openUntil: null, timesOpened: 0 },
            rateLimit: { limit: '10/s', burst: 10, tokens: 7.5 },
          },
        },
        pausedWebhooks: 0,
      },
    },
  })
  @ApiProblemResponses(503)
  get(): Promise<QueueFigures> {
    return this.figures.figures();
  }
}
