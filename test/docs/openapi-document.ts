import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../../src/app.module';
import { generateToken } from '../../src/auth/token-format';
import { loadConfig } from '../../src/config/load-config';

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
  const app = await NestFactory.create(AppModule.forRoles(config), new FastifyAdapter(), {
    preview: true,
    logger: false,
  });
  try {
    return SwaggerModule.createDocument(app, new DocumentBuilder().build());
  } finally {
    await app.close();
  }
}
