import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, waitUntil } from './ports';

/** The built app; FREEFACE_MAIN points elsewhere (e.g. a build in .dist-<name>/ of one's own). */
const MAIN = process.env.FREEFACE_MAIN ?? join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * The app's default is production; a test process runs in development unless the test sets ENVIRONMENT (to
 * undefined for the app's own default, as a bare `node dist/main.js`).
 */
const TEST_ENVIRONMENT = { ENVIRONMENT: 'development' };

/** Every child still running: killed when the test process exits, so a failed test leaves no orphan. */
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

export interface AppOptions {
  role: string;
  env: Record<string, string | undefined>;
  /** Wait for this port's /health; default: the role's own port. */
  probePort?: number;
  /** Wait until /health/ready answers 200 too (default true; false when Redis is meant to be down). */
  waitReady?: boolean;
  /** Wait for the "FreeFace started" log line (default true; false when LOG_LEVEL hides info lines). */
  waitForStartLog?: boolean;
  /** Options for node itself, before the script (e.g. `--trace-gc`, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
}

/**
 * The built app (`node dist/main.js`) as a child process with an environment of the test's making (nothing
 * inherited but PATH), its stdout kept line by line for log assertions.
 */
export class AppProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly healthPort: number,
    /** SMTP_INGRESS_PORT (a free port of its own, as every port here). */
    readonly smtpPort: number,
  ) {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      this.stdout.push(...lines.filter(Boolean));
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    running.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        running.delete(child);
        resolve(code);
      }),
    );
  }

  static async start(options: AppOptions): Promise<AppProcess> {
    const port = Number(options.env.PORT ?? (await freePort()));
    const workerHealthPort = Number(options.env.WORKER_HEALTH_PORT ?? (await freePort()));
    const monitorPort = Number(options.env.MONITOR_PORT ?? (await freePort()));
    const smtpPort = Number(options.env.SMTP_INGRESS_PORT ?? (await freePort()));
    const smtpHealthPort = Number(options.env.SMTP_HEALTH_PORT ?? (await freePort()));
    const env = {
      PATH: process.env.PATH ?? '',
      APP_ROLE: options.role,
      PORT: String(port),
      WORKER_HEALTH_PORT: String(workerHealthPort),
      MONITOR_PORT: String(monitorPort),
      SMTP_INGRESS_PORT: String(smtpPort),
      SMTP_HEALTH_PORT: String(smtpHealthPort),
      LOG_CONFIG: join(__dirname, '..', '..', 'config', 'logging.yaml'),
      TEMPLATES_DIR: join(__dirname, '..', '..', 'templates'),
      ...TEST_ENVIRONMENT,
      ...options.env,
    };
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const roles = options.role.split(',');
    const healthPort =
      options.probePort ??
      (roles.includes('api') || options.role === 'all'
        ? port
        : roles.includes('worker')
          ? workerHealthPort
          : roles.includes('smtp')
            ? smtpHealthPort
            : workerHealthPort);
    const app = new AppProcess(child, port, healthPort, smtpPort);
    let exitCode: number | null | undefined;
    void app.exited.then((code) => (exitCode = code));
    const path = options.waitReady === false ? '/health' : '/health/ready';
    try {
      await waitUntil(
        async () => {
          if (exitCode !== undefined) throw new Error(`app exited with ${exitCode}: ${app.stderr.join('')}`);
          const started =
            options.waitForStartLog === false || app.logs().some((l) => l.msg === 'FreeFace started');
          if (!started) return false;
          return fetch(`http://127.0.0.1:${healthPort}${path}`).then(
            (r) => r.ok,
            () => false,
          );
        },
        20_000,
        `the ${options.role} process to start and answer ${path}`,
      );
    } catch (error) {
      await app.stop('SIGKILL');
      throw error;
    }
    return app;
  }

  /** Runs the app to completion (for start-up failures): its exit code and output. */
  static async run(
    env: Record<string, string | undefined>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...TEST_ENVIRONMENT, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr };
  }

  /** The process id, e.g. to read its memory from /proc. */
  get pid(): number {
    return this.child.pid!;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Parsed JSON log lines. */
  logs(): Record<string, unknown>[] {
    return this.stdout.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
