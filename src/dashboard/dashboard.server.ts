import { Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteHandlerMethod,
} from 'fastify';
import type { Socket } from 'node:net';
import { UUID_PATTERN } from '../common/ids';
import { sendProblem, toProblem } from '../common/problem-details.filter';
import { ProblemError } from '../common/problem-error';
import { requestIdFor } from '../common/request-id';
import { AppConfig } from '../config/app-config';
import { DeadLettersService } from '../dead-letters/dead-letters.service';
import { notReadyProblem } from '../health/readiness-problem';
import { ReadinessService } from '../health/readiness.service';
import { AppLogger } from '../logging/app-logger';
import { METRICS_PATH, MetricsEndpoint } from '../metrics/prometheus/metrics-endpoint';
import { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { EmailQueue } from '../queue/email-queue';
import { WebhookQueue } from '../queue/webhook-queue';
import { basicAuthVerifier, WWW_AUTHENTICATE, type BasicAuthResult } from './basic-auth';
import { registerBullBoard } from './bull-board';
import { isSameOriginRequest } from './csrf';
import { loadDashboardAssets, pageAssets, type Asset } from './dashboard-assets';
import { renderOverviewPage, type PageAssets } from './overview.page';
import { DashboardOverviewService } from './overview.service';

const REFRESH_SECONDS = 5;

/** Our own pages load only what this server serves; bull-board's needs inline styles as well. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The monitor role's HTTP server on MONITOR_PORT: the overview page (`/`, `/api/overview`), the queue detail
 * (bull-board, `/queues`), and `/health`, `/health/ready` for Kubernetes. Its own fastify instance, as a
 * monitor-only process has no HTTP app of Nest's. Everything but the health routes is behind basic auth.
 */
@Injectable()
export class DashboardServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private server?: FastifyInstance;
  /** Routes served without credentials (probes), by their route path. */
  private readonly openRoutes = new Set<string>();
  private readonly verify?: (header: string | undefined) => BasicAuthResult;
  private assets: ReadonlyMap<string, Asset> = new Map();
  private assetUrls?: PageAssets;
  /** Connections that have not carried a request yet; see beforeApplicationShutdown. */
  private readonly unusedConnections = new Set<Socket>();

  constructor(
    private readonly config: AppConfig,
    private readonly readiness: ReadinessService,
    private readonly overview: DashboardOverviewService,
    private readonly deadLetters: DeadLettersService,
    private readonly queue: EmailQueue,
    private readonly webhookQueue: WebhookQueue,
    private readonly logger: AppLogger,
    private readonly metricsEndpoint: MetricsEndpoint,
    private readonly failures: AuthFailureLimiter,
  ) {
    this.logger.setContext('dashboard');
    const credentials = config.dashboard.credentials;
    if (credentials) this.verify = basicAuthVerifier(credentials);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.assets = loadDashboardAssets();
    this.assetUrls = pageAssets(this.assets);
    const server = Fastify({
      genReqId: requestIdFor,
      logger: false,
      bodyLimit: 64 * 1024,
      // The client address that failed logins count against, as on the API.
      trustProxy: this.config.http.trustProxy,
    });
    server.addHook('onRequest', async (request, reply) => {
      void reply.header('x-request-id', request.id);
      void reply.header('x-content-type-options', 'nosniff');
      void reply.header('referrer-policy', 'no-referrer');
      void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    });
    server.server.on('connection', (socket: Socket) => {
      this.unusedConnections.add(socket);
      socket.once('close', () => this.unusedConnections.delete(socket));
    });
    server.addHook('onRequest', (request, _reply, done) => {
      this.unusedConnections.delete(request.raw.socket);
      done();
    });
    server.addHook('onRequest', (request, reply) => this.authenticate(request, reply));
    server.setErrorHandler((error, request, reply) => {
      const problem = toProblem(error);
      if (problem.getStatus() >= 500) this.logger.error({ err: error }, 'dashboard request failed');
      sendProblem(reply, problem, request.id);
    });
    server.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        new ProblemError(404, 'not-found', `${request.url.slice(0, 200)} does not exist.`),
        request.id,
      ),
    );
    await this.registerRoutes(server);
    this.server = server;
    const port = this.config.http.monitorPort;
    await server.listen({ port, host: '0.0.0.0' });
    this.logger.info(
      { role: 'monitor', port, access: this.verify ? 'basic auth' : 'open' },
      'dashboard listening',
    );
    if (!this.verify) {
      this.logger.warn(
        'DASHBOARD_USER and DASHBOARD_PASSWORD are not set: the dashboard is open to anyone who reaches MONITOR_PORT (development only)',
      );
    }
  }

  /**
   * Stops taking requests before Redis and the queues close; requests in flight finish first. A connection
   * that never sent a request (a client's spare keep-alive connection, a TCP probe) is not idle to Node, so
   * the close would wait for it until the shutdown deadline: it is ended here.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const closed = this.server?.close();
    for (const socket of this.unusedConnections) socket.destroy();
    await closed;
  }

  /**
   * Every route of the dashboard, in one place. `/metrics` checks its own service token (or none with
   * METRICS_AUTH=false): both use the Authorization header, so basic auth lets it through.
   */
  private async registerRoutes(server: FastifyInstance): Promise<void> {
    this.open(server, '/health', () => Promise.resolve({ status: 'ok' }));
    this.open(server, '/health/ready', async (request, reply) => {
      const result = await this.readiness.check();
      if (result.status === 'ok') return result;
      sendProblem(reply, notReadyProblem(result), request.id);
      return reply;
    });
    this.openRoutes.add(METRICS_PATH);
    this.metricsEndpoint.serve(server);

    server.get('/', async (_request, reply) => {
      const overview = await this.overview.overview();
      const page = renderOverviewPage(overview, {
        assets: this.assetUrls!,
        isOpen: !this.verify,
        refreshSeconds: REFRESH_SECONDS,
      });
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
    });
    server.get('/api/overview', async (_request, reply) => {
      void reply.header('cache-control', 'no-store');
      return this.overview.overview();
    });
    server.post<{ Params: { id: string } }>(
      '/api/dead-letters/:id/retry',
      // Checked when the request arrives, before any body is read: a cross-site form post gets a 403, not a 415.
      { onRequest: (request, _reply, done) => done(this.crossOriginRefusal(request)) },
      (request, reply) => this.retryDeadLetter(request, reply),
    );
    server.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
      const asset = this.assets.get(request.params.name);
      if (!asset) throw new ProblemError(404, 'not-found', `No asset ${request.params.name.slice(0, 100)}.`);
      return reply.type(asset.contentType).header('cache-control', 'private, max-age=86400').send(asset.body);
    });

    await registerBullBoard(server, [...this.queue.inPriorityOrder(), this.webhookQueue.queue], '/queues');
  }

  /** A GET route that needs no credentials. */
  private open(server: FastifyInstance, path: string, handler: RouteHandlerMethod): void {
    this.openRoutes.add(path);
    server.get(path, handler);
  }

  /**
   * Basic auth for every route but the open ones. Failed sign-ins count against the client address
   * (AUTH_FAILURE_LIMIT, a count of the dashboard's own): within the limit a failure is logged with the user,
   * never the password, and gets a 401; once the limit is reached every sign-in from that address gets a 429
   * with Retry-After until the window ends, before its password is looked at, so guessing gains nothing. The
   * browser's first request, which carries no credentials, guesses nothing and is not counted.
   */
  private async authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    if (!this.verify) return undefined;
    const route = request.routeOptions.url;
    if (route !== undefined && this.openRoutes.has(route)) return undefined;
    const header = request.headers.authorization;
    try {
      if (header) await this.failures.admitSignIn(request.ip);
      const result = this.verify(header);
      if (result.outcome === 'ok') return undefined;
      if (result.outcome !== 'missing') {
        await this.failures.countFailure(request.ip, 'dashboard', result.outcome);
        this.logger.warn(
          {
            user: result.outcome === 'wrong' ? result.user.slice(0, 64) : undefined,
            reason: result.outcome === 'wrong' ? 'wrong user or password' : 'malformed Authorization header',
            ip: request.ip,
            path: request.url.split('?')[0]!.slice(0, 200),
            requestId: request.id,
          },
          'dashboard login failed',
        );
      }
    } catch (refusal) {
      sendProblem(reply, toProblem(refusal), request.id);
      return reply;
    }
    void reply.header('www-authenticate', WWW_AUTHENTICATE);
    sendProblem(
      reply,
      new ProblemError(401, 'unauthorized', 'Sign in with the dashboard user and password.'),
      request.id,
    );
    return reply;
  }

  /** CSRF protection of the dashboard's POST routes: a 403 unless the request is the page's own (isSameOriginRequest). */
  private crossOriginRefusal(request: FastifyRequest): ProblemError | undefined {
    if (isSameOriginRequest(request.headers)) return undefined;
    this.logger.warn(
      { path: request.url.split('?')[0]!.slice(0, 200), requestId: request.id },
      'dashboard post refused: not same-origin',
    );
    return new ProblemError(
      403,
      'forbidden',
      'Changes are accepted from the dashboard page only (same origin, with its X-Requested-With header).',
    );
  }

  /** The overview's Retry button: the same retry as `POST /api/v1/dead-letters/{id}/retry`, audit event included. */
  private async retryDeadLetter(
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { id } = request.params;
    if (!UUID_PATTERN.test(id))
      throw new ProblemError(404, 'not-found', `Dead letter ${id.slice(0, 64)} does not exist`);
    const retried = await this.deadLetters.retry(id);
    this.logger.info({ emailId: id, requestId: request.id }, 'dead letter retried from the dashboard');
    return reply.status(202).header('cache-control', 'no-store').send(retried);
  }
}
