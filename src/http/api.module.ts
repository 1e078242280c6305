import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuditController } from '../audit/audit.controller';
import { ServiceTokenGuard } from '../auth/service-token.guard';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../common/json-depth';
import { ProblemDetailsFilter } from './problem-details.filter';
import { ProblemError } from '../common/problem-error';
import { supportRouteBodies } from '../common/route-bodies';
import { validationPipe } from '../common/validation-pipe';
import type { AppConfig } from '../config/app-config';
import { DeadLettersController } from '../dead-letters/dead-letters.controller';
import { EmailsController } from '../emails/emails.controller';
import { GroupsController } from '../groups/groups.controller';
import { HealthController } from '../health/health.controller';
import { IdempotencyGuard } from '../idempotency/idempotency.guard';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { RequestLoggingMiddleware } from '../logging/request-logging.middleware';
import { observeHttpRequests } from '../metrics/prometheus/http-metrics';
import { metricsController } from './metrics.controller';
import { PrometheusMetrics } from '../metrics/prometheus/prometheus-metrics';
import { ServiceCallsHook } from '../service-metrics/service-calls.hook';
import { ServiceMetricsController } from '../service-metrics/service-metrics.controller';
import { CallbackAdmission } from '../provider-events/callback-admission';
import { ProviderEventsController } from '../provider-events/provider-events.controller';
import { QueuesController } from '../queue-figures/queues.controller';
import { SuppressionsController } from '../suppressions/suppressions.controller';
import { setupSwagger } from '../swagger';
import { TemplatesController } from '../templates/templates.controller';
import { WebhooksController } from '../webhooks/webhooks.controller';
import type { HttpPort } from './http-ports';

/**
 * The api role's port (PORT): the REST API, `/health`, `/health/ready` and `/metrics`. Every route needs a
 * service token unless it is @Public(); POSTs take an Idempotency-Key; bodies are validated against their DTO.
 * Each request is logged when it ends (RequestLoggingMiddleware).
 */
@Module({})
export class ApiModule implements NestModule {
  static forPort(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [IdempotencyModule],
      controllers: [
        EmailsController,
        GroupsController,
        TemplatesController,
        DeadLettersController,
        QueuesController,
        SuppressionsController,
        WebhooksController,
        ProviderEventsController,
        AuditController,
        ServiceMetricsController,
        HealthController,
        metricsController(config),
      ],
      providers: [
        // Global guards run in this order: the token names the service an Idempotency-Key belongs to.
        { provide: APP_GUARD, useClass: ServiceTokenGuard },
        { provide: APP_GUARD, useExisting: IdempotencyGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useValue: validationPipe },
        ServiceCallsHook,
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Nest's default pattern is never matched by @fastify/middie under Nest 12; this one is.
    consumer.apply(RequestLoggingMiddleware).forRoutes({ path: '*path', method: RequestMethod.ALL });
  }
}

/**
 * The api's port. It holds the process's providers (it is the first port of any process that serves the
 * api), since its request hooks (idempotency, call counts) use them directly.
 */
export function apiPort(config: AppConfig, version: string): HttpPort {
  return {
    role: 'api',
    port: config.http.port,
    module: ApiModule.forPort(config),
    bodyLimit: config.http.maxBodyBytes,
    prepare: (app) => prepareApi(app),
    finish: (app) => setupSwagger(app, version),
  };
}

/**
 * The API's fastify hooks, before Nest registers the routes: JSON is the only body type (a provider's callback
 * may keep its raw bytes or post JSON as text/plain: route-bodies.ts), the callbacks' own body and rate limits,
 * the nesting limit of JSON bodies, and the HTTP latency histogram.
 */
function prepareApi(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  supportRouteBodies(fastify);
  app.get(CallbackAdmission).guard(fastify);
  // Validation walks the body recursively: a body nested thousands deep would exhaust the stack (a 500).
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined || !nestsDeeperThan(request.body, MAX_JSON_DEPTH)) return done();
    done(new ProblemError(400, 'bad-request', `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`));
  });
  observeHttpRequests(fastify, app.get(PrometheusMetrics));
}
