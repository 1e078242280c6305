import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem-error';
import { sendProblem } from '../common/problem-details.filter';
import { requestIdFor } from '../common/request-id';
import { AppLogger } from '../logging/app-logger';
import { MetricsEndpoint } from '../metrics/prometheus/metrics-endpoint';
import { notReadyProblem } from './readiness-problem';
import { ReadinessService } from './readiness.service';

/**
 * `/health`, `/health/ready` and `/metrics` on the port of the role that has no HTTP server of its own: the
 * worker's WORKER_HEALTH_PORT and the smtp role's SMTP_HEALTH_PORT (the monitor's MONITOR_PORT is the dashboard's, src/dashboard/). Kubernetes
 * probes these; Prometheus scrapes each process's own `/metrics`.
 */
@Injectable()
export class ProbeServers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly servers: FastifyInstance[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly readiness: ReadinessService,
    private readonly metricsEndpoint: MetricsEndpoint,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('health');
  }

  async onApplicationBootstrap(): Promise<void> {
    const ports: [string, number][] = [];
    if (this.config.roles.has('worker')) ports.push(['worker', this.config.http.workerHealthPort]);
    if (this.config.roles.has('smtp')) ports.push(['smtp', this.config.smtpIngress.healthPort]);
    for (const [role, port] of ports) {
      this.servers.push(await this.listen(port));
      this.logger.info({ role, port }, 'health probes listening');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
  }

  private async listen(port: number): Promise<FastifyInstance> {
    const server = Fastify({ genReqId: requestIdFor, logger: false });
    server.addHook('onRequest', (request, reply, done) => {
      void reply.header('x-request-id', request.id);
      done();
    });
    server.get('/health', () => Promise.resolve({ status: 'ok' }));
    server.get('/health/ready', async (request, reply) => {
      const result = await this.readiness.check();
      if (result.status === 'ok') return result;
      sendProblem(reply, notReadyProblem(result), request.id);
      return reply;
    });
    this.metricsEndpoint.serve(server);
    server.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        new ProblemError(404, 'not-found', 'Only /health, /health/ready and /metrics are served here.'),
        request.id,
      ),
    );
    await server.listen({ port, host: '0.0.0.0' });
    return server;
  }
}
