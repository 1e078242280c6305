import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { clientErrorHandler, frameworkErrors } from './common/http-framework-errors';
import { MAX_JSON_DEPTH, nestsDeeperThan } from './common/json-depth';
import { sendProblem } from './common/problem-details.filter';
import { ProblemError } from './common/problem-error';
import { requestIdFor } from './common/request-id';
import { supportRouteBodies } from './common/route-bodies';
import type { AppConfig } from './config/app-config';
import { nestLogger } from './logging/nest-logger';
import { observeHttpRequests } from './metrics/prometheus/http-metrics';
import { PrometheusMetrics } from './metrics/prometheus/prometheus-metrics';
import { CallbackAdmission } from './provider-events/callback-admission';
import { setupSwagger } from './swagger';

/**
 * The API process's HTTP server: fastify with the body limit, request ids from `X-Request-Id`, JSON as the
 * only accepted body type (fastify's own JSON parser; Nest's parsers, which add urlencoded forms, are off;
 * provider callbacks' exceptions in route-bodies.ts).
 * Errors raised before a route runs (body too large, bad JSON) reach the problem+json filter through Nest.
 */
export async function createHttpApp(config: AppConfig, version: string): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.maxBodyBytes,
    // Which X-Forwarded-For hops to believe for request.ip: the address failed authentications count against.
    trustProxy: config.http.trustProxy,
    genReqId: requestIdFor,
    logger: false,
    frameworkErrors,
    clientErrorHandler,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoles(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // The API takes JSON only (anything else is a 415), except where a provider's callback needs its raw bytes
  // or posts JSON as text/plain; before init, which registers the routes.
  supportRouteBodies(fastify);
  // The provider callbacks' own body limit and per-address rate limit (they take no service token).
  app.get(CallbackAdmission).guard(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  // Validation walks the body recursively: a body nested thousands deep would exhaust the stack (a 500).
  fastify.addHook('preValidation', async (request, reply) => {
    if (request.body !== undefined && nestsDeeperThan(request.body, MAX_JSON_DEPTH)) {
      const detail = `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`;
      sendProblem(reply, new ProblemError(400, 'bad-request', detail), request.id);
      return reply;
    }
  });
  observeHttpRequests(fastify, app.get(PrometheusMetrics));
  app.useLogger(await nestLogger(app));
  await app.init();
  setupSwagger(app, version);
  return app;
}
