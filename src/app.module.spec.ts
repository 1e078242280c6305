import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { generateToken } from './common/token-format';
import { loadConfig } from './config/load-config';
import { ROLES, type Role } from './config/roles';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'app-module-spec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFor(roles: readonly Role[]) {
  const logConfig = join(dir, 'logging.yaml');
  writeFileSync(logConfig, '');
  return loadConfig(
    {
      ENVIRONMENT: 'development',
      LOG_CONFIG: logConfig,
      SERVICE_TOKEN_BILLING_API_PRIMARY: generateToken('dev'),
    },
    new Set(roles),
  );
}

/**
 * Each role's providers resolve on their own: Nest's preview mode builds the graph without creating a provider,
 * so a module that forgot an import fails here rather than when that role starts.
 */
describe('AppModule', () => {
  const roleSets: Role[][] = [...ROLES.map((role) => [role]), [...ROLES]];
  it.each(roleSets.map((roles) => [roles.join('+'), roles] as const))(
    'resolves every provider of %s',
    async (_name, roles) => {
      const config = configFor(roles);
      const context = await NestFactory.createApplicationContext(AppModule.forRoles(config), {
        preview: true,
        logger: false,
        abortOnError: false,
      });
      await context.close();
    },
  );
});
