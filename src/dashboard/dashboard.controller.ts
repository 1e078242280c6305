import { Controller, Get, Header, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { UUID_PATTERN } from '../common/ids';
import { ProblemError } from '../common/problem-error';
import { RequestId } from '../common/request-id';
import { AppConfig } from '../config/app-config';
import { DeadLettersService } from '../dead-letters/dead-letters.service';
import type { RetriedDto } from '../dead-letters/dto/dead-letter.dto';
import { AppLogger } from '../logging/app-logger';
import { answerAsset, loadDashboardAssets, pageAssets } from './dashboard-assets';
import { SAME_ORIGIN_ONLY } from './dashboard-http';
import { renderOverviewPage } from './overview.page';
import type { Overview } from './overview';
import { DashboardOverviewService } from './overview.service';

const REFRESH_SECONDS = 5;

/**
 * The operators' dashboard on MONITOR_PORT: the overview page (`/`), its figures (`/api/overview`), its
 * Retry button and its assets. @Public: it takes no service token; the port's basic auth covers every route
 * (dashboard-http.ts).
 */
@Public()
@Controller()
export class DashboardController {
  /** Read once at start: the page must work without internet access, so it serves all it loads. */
  private readonly assets = loadDashboardAssets();
  private readonly assetUrls = pageAssets(this.assets);
  private readonly isOpen: boolean;

  constructor(
    private readonly overview: DashboardOverviewService,
    private readonly deadLetters: DeadLettersService,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.logger.setContext('dashboard');
    this.isOpen = !config.dashboard.credentials;
    if (!this.assets.has('dashboard.js'))
      this.logger.warn(
        'the overview page has no script: its browser code is not built (npm run build); the page shows no figures',
      );
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  async page(): Promise<string> {
    return renderOverviewPage(await this.overview.overview(), {
      assets: this.assetUrls,
      isOpen: this.isOpen,
      refreshSeconds: REFRESH_SECONDS,
    });
  }

  @Get('api/overview')
  @Header('cache-control', 'no-store')
  figures(): Promise<Overview> {
    return this.overview.overview();
  }

  /** The overview's Retry button: the same retry as `POST /api/v1/dead-letters/{id}/retry`, audit event included. */
  @Post('api/dead-letters/:id/retry')
  @RouteConfig({ [SAME_ORIGIN_ONLY]: true })
  @HttpCode(202)
  @Header('cache-control', 'no-store')
  async retry(@Param('id') id: string, @RequestId() requestId: string): Promise<RetriedDto> {
    if (!UUID_PATTERN.test(id))
      throw new ProblemError(404, 'not-found', `Dead letter ${id.slice(0, 64)} does not exist`);
    const retried = await this.deadLetters.retry(id);
    this.logger.info({ emailId: id, requestId }, 'dead letter retried from the dashboard');
    return retried;
  }

  /** Sent here rather than returned: Nest would answer a returned value with a 200, never a 304. */
  @Get('assets/:name')
  asset(
    @Param('name') name: string,
    @Query('v') version: unknown,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): void {
    const asset = this.assets.get(name);
    if (!asset) throw new ProblemError(404, 'not-found', `No asset ${name.slice(0, 100)}.`);
    const answer = answerAsset(asset, version, ifNoneMatch);
    void reply.code(answer.status).headers(answer.headers).send(answer.body);
  }
}
