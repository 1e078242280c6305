import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { requestIdFor } from './common/request-id';
import type { AppConfig } from './config/app-config';
import { nestLogger } from './logging/nest-logger';
import { setupSwagger } from './swagger';

/**
 * The API process's HTTP server: fastify with the body limit, request ids from `X-Request-Id`, JSON as the
 * only accepted body type (fastify's own JSON parser; Nest's parsers, which add urlencoded forms, are off).
 * Errors raised before a route runs (body too large, bad JSON) reach the problem+json filter through Nest.
 */
export async function createHttpApp(config: AppConfig, version: string): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.maxBodyBytes,
    genReqId: requestIdFor,
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoles(config), adapter, {
    bufferLogs: true,
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // fastify would read text/plain bodies as strings; the API takes JSON only, so anything else is a 415.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.useLogger(await nestLogger(app));
  await app.init();
  setupSwagger(app, version);
  return app;
}
