import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../../src/app.module';
import { generateToken } from '../../src/common/token-format';
import { loadConfig } from '../../src/config/load-config';
import { ApiModule } from '../../src/http/api.module';

/**
 * The paths and operations of the api role's OpenAPI document (what /docs-json serves), built in this process
 * without starting anything: Nest's preview mode resolves the api's modules and controllers but creates no
 * provider, so nothing connects to Redis or listens on a port.
 */
export async function apiOpenApiDocument(): Promise<OpenAPIObject> {
  const config = loadConfig(
    {
      ENVIRONMENT: 'development',
      REDIS_URL: 'redis://127.0.0.1:6379',
      EMAIL_FROM: 'noreply@example.com',
      SMTP_HOST: '127.0.0.1',
      SERVICE_TOKEN_BILLING_PRIMARY: generateToken('dev'),
    },
    new Set(['api'] as const),
  );
  // The api port's module over the process's providers, as src/http/http-ports.ts starts it.
  const port = ApiModule.forPort(config);
  const api = { ...port, imports: [...(port.imports ?? []), AppModule.forRoles(config)] };
  const app = await NestFactory.create(api, new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return SwaggerModule.createDocument(app, new DocumentBuilder().build());
  } finally {
    await app.close();
  }
}
