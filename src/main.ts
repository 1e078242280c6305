import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { parseRoles, RoleError } from './config/roles';
import { RunningPorts, startPorts } from './http/http-ports';
import { PartitionLayoutError } from './queue/partition-layout';
import { AppLogger } from './logging/app-logger';
import { TemplateLoadError } from './templates/template-registry';

const version = (
  JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

/** Errors that mean "fix your setup": one clear message, no stack. */
const isSetupError = (error: unknown) =>
  error instanceof ConfigError ||
  error instanceof RoleError ||
  error instanceof TemplateLoadError ||
  error instanceof PartitionLayoutError;

/** Every port of the process's roles, each a Nest application of its own (AppModule.ports). */
function start(config: AppConfig): Promise<RunningPorts> {
  return startPorts(AppModule.ports(config, version), AppModule.forRoles(config), config);
}

/**
 * SIGTERM/SIGINT: stop taking work, finish what is running (SHUTDOWN_TIMEOUT_MS), close connections, exit 0.
 * Installed before start-up, so a signal that arrives while the process still waits for Redis ends it at
 * once instead of being ignored (it has taken no work yet; a job it had begun returns to the queue).
 */
function handleSignals(config: AppConfig): {
  started(ports: RunningPorts, logger: AppLogger): void;
} {
  let running: { ports: RunningPorts; logger: AppLogger } | undefined;
  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    if (!running) process.exit(0);
    const { ports, logger } = running;
    logger.info({ signal }, 'shutting down');
    // A last resort if a hook hangs: the process must be gone before Kubernetes' grace period ends.
    setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 4000).unref();
    try {
      await ports.close();
      logger.info('shut down cleanly');
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exitCode = 1;
    }
    setImmediate(() => process.exit());
  };
  process.once('SIGTERM', (signal) => void shutdown(signal));
  process.once('SIGINT', (signal) => void shutdown(signal));
  return { started: (ports, logger) => (running = { ports, logger }) };
}

async function main(): Promise<void> {
  const roles = parseRoles(process.argv.slice(2), process.env);
  const config = loadConfig(process.env, roles);
  const signals = handleSignals(config);
  const ports = await start(config);
  const logger = await ports.owner.resolve(AppLogger);
  logger.setContext('main');
  signals.started(ports, logger);
  logger.info({ roles: [...roles], version, environment: config.environment }, 'FreeFace started');
  if (roles.has('api') && !config.auth.enabled) {
    logger.warn(
      'SERVICE_AUTH_ENABLED=false: every call is accepted as the service "anonymous" (development only)',
    );
  }
}

main().catch((error: unknown) => {
  if (isSetupError(error)) process.stderr.write(`${error.message}\n`);
  else
    process.stderr.write(
      `FreeFace failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  process.exit(1);
});
