import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, waitUntil } from './ports';

/**
 * A redis-server of the test's own on a free port, with no persistence, that the test can stop and start
 * again (same port) to play an outage.
 */
export class PrivateRedis {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'freeface-redis-'));

  private constructor(
    readonly port: number,
    private readonly persistence: { appendOnly: boolean },
    private readonly password?: string,
  ) {}

  /**
   * `appendOnly`: AOF with fsync every second, the production setting, so a restart keeps the data.
   * `password`: the server requires it (`requirepass`); `url` carries it, as REDIS_URL does in production.
   */
  static async start(options: { appendOnly?: boolean; password?: string } = {}): Promise<PrivateRedis> {
    const redis = new PrivateRedis(
      await freePort(),
      { appendOnly: options.appendOnly ?? false },
      options.password,
    );
    await redis.resume();
    return redis;
  }

  get url(): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    this.process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        this.persistence.appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'everysec',
        '--dir',
        this.dir,
        ...(this.password === undefined ? [] : ['--requirepass', this.password]),
      ],
      { stdio: 'ignore' },
    );
    await waitUntil(() => this.ping(), 10_000, `redis-server on port ${this.port}`);
  }

  /** Stops the server: SIGKILL by default (a crash), SIGTERM for a clean shutdown that flushes the AOF. */
  async pause(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async stop(): Promise<void> {
    await this.pause();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A fresh client for the test's own inspection; the caller quits it. */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  }

  private ping(): Promise<boolean> {
    return answersPing(this.url);
  }
}

/** Whether a Redis answers PING at `url` now: one try, no retry. */
export async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
