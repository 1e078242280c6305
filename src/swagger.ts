import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ProblemResponseDto } from './common/problem-response.dto';
import { RecipientDto } from './emails/dto/send-email.dto';

const DESCRIPTION = `Transactional email over REST. Post an email (inline content or a template) and get 202 with its id at
once; workers deliver it through the configured provider. Authenticate with a service token
(\`Authorization: Bearer st_dev_…\` or \`X-Service-Token\`). Every error is \`application/problem+json\` (RFC 9457).`;

/** Swagger UI at /docs and the OpenAPI document at /docs-json; neither needs a token. */
export function setupSwagger(app: INestApplication, version: string): void {
  const config = new DocumentBuilder()
    .setTitle('FreeFace Email Service')
    .setDescription(DESCRIPTION)
    .setVersion(version)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'st_<env>_<33 base62 characters>',
        description: 'Service token',
      },
      'bearer',
    )
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-Service-Token', description: 'Service token' },
      'service-token',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemResponseDto, RecipientDto],
  });
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'FreeFace Email API',
  });
}
