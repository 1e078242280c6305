import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import type { AuthenticatedRequest } from '../auth/caller';
import { ServiceMetricsRecorder } from './service-metrics.recorder';

/**
 * Counts each call a service made, per endpoint (`POST /api/v1/emails/:id`), as its response is sent: every
 * request ServiceTokenGuard let through (it names the caller once the token, the limits and the scope passed),
 * whatever its outcome. A response hook rather than an interceptor: any interceptor puts every request through
 * Nest's RxJS pipeline, which cost 5 % of an accept's CPU.
 */
@Injectable()
export class ServiceCallsHook implements OnModuleInit {
  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly recorder: ServiceMetricsRecorder,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request: AuthenticatedRequest, _reply, done) => {
      if (request.caller) {
        this.recorder.recordCall(
          request.caller.service,
          `${request.method} ${request.routeOptions.url ?? request.url}`,
          Date.now(),
        );
      }
      done();
    });
  }
}
