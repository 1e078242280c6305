import type { DynamicModule, INestApplicationContext, LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../config/app-config';
import type { Role } from '../config/roles';
import { AppLogger } from '../logging/app-logger';
import { nestLogger } from '../logging/nest-logger';
import { withBorrowedProviders } from './borrowed-providers';
import { createHttpApp } from './http-app';

/** One port a role serves: a Nest application of its own, with its own controllers. */
export interface HttpPort {
  role: Role;
  port: number;
  /** The port's module: its controllers and its HTTP plumbing (guards, filter), not the process's providers. */
  module: DynamicModule;
  bodyLimit: number;
  /**
   * The port's own fastify hooks and plugins, added before Nest registers the routes. `providers` is the
   * application holding the process's providers (the port's own, or the one it borrows from).
   */
  prepare?(app: NestFastifyApplication, providers: INestApplicationContext): Promise<void> | void;
  /** Once Nest has registered the routes, before the port listens (the API's documentation). */
  finish?(app: NestFastifyApplication): void;
}

/** The applications of a running process: the first holds the process's providers, the others borrow them. */
export class RunningPorts {
  constructor(
    readonly owner: NestFastifyApplication,
    private readonly borrowers: readonly NestFastifyApplication[],
  ) {}

  /**
   * Closes every port: the borrowing ones first, then the owner, which also stops the workers, flushes what
   * is buffered and closes Redis, so that no request in flight loses a provider under it.
   */
  async close(): Promise<void> {
    await Promise.all(this.borrowers.map((app) => app.close()));
    await this.owner.close();
  }
}

/**
 * Starts a process's ports. The first (the api's, when the process serves it: its hooks use the process's
 * providers directly) holds every provider of the process, `providers`, and runs their lifecycle: workers
 * start taking jobs as it starts, and stop as it closes. Each other port is a Nest application of its own over
 * the same instances (withBorrowedProviders), so that one process serving several roles keeps one event bus,
 * one metrics registry and one set of Redis connections.
 */
export async function startPorts(
  ports: readonly HttpPort[],
  providers: DynamicModule,
  config: AppConfig,
): Promise<RunningPorts> {
  const [first, ...others] = ports;
  if (!first) throw new Error('a process serves at least one port');
  const owner = await startPort(first, withProviders(first.module, providers), config);
  const nestLogs = await nestLogger(owner);
  const borrowers: NestFastifyApplication[] = [];
  try {
    for (const port of others) {
      const module = withBorrowedProviders(port.module, owner);
      borrowers.push(await startPort(port, module, config, { owner, nestLogs }));
    }
  } catch (error) {
    await new RunningPorts(owner, borrowers).close().catch(() => undefined);
    throw error;
  }
  const logger = await owner.resolve(AppLogger);
  logger.setContext('http');
  for (const { role, port } of ports) logger.info({ role, port }, 'port listening');
  return new RunningPorts(owner, borrowers);
}

function withProviders(port: DynamicModule, providers: DynamicModule): DynamicModule {
  return { ...port, imports: [...(port.imports ?? []), providers] };
}

/** Creates, prepares and starts one port's application; `borrowing` when another holds the providers. */
async function startPort(
  port: HttpPort,
  module: DynamicModule,
  config: AppConfig,
  borrowing?: { owner: INestApplicationContext; nestLogs: LoggerService },
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(module, {
    bodyLimit: port.bodyLimit,
    trustProxy: config.http.trustProxy,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    ...(borrowing ? { logger: borrowing.nestLogs } : {}),
  });
  const providers = borrowing?.owner ?? app;
  await port.prepare?.(app, providers);
  await app.init();
  port.finish?.(app);
  await app.listen({ port: port.port, host: '0.0.0.0' });
  return app;
}
