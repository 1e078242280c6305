// A private redis-server for one benchmark run: a free port on 127.0.0.1, no persistence, its own temp dir.
// `args` adds to its command line (e.g. ['--replicaof', '127.0.0.1', port] for a replica).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort, startProcess } from './processes.mjs';

export async function startRedisServer({ args = [] } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'freeface-bench-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused while the server starts: expected, and retried
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };
  const server = await startProcess({
    name: 'redis-server',
    command: 'redis-server',
    args: [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      ...args,
    ],
    env: {},
    ready: ping,
    timeoutMs: 10_000,
  });
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const info = parseInfo(await client.info('server'));
  return {
    url,
    port,
    pid: server.pid,
    version: info.redis_version,
    /** The runner's own client, for inspection (LLEN, INFO…). */
    client,
    async memoryUsed() {
      return parseInfo(await client.info('memory')).used_memory_human;
    },
    /**
     * Resets Redis's command statistics and returns a function that reads them: per command
     * { calls, usec, usecPerCall } over the time between the two calls (INFO commandstats).
     */
    async watchCommands() {
      await client.config('RESETSTAT');
      return async () =>
        Object.fromEntries(
          Object.entries(parseInfo(await client.info('commandstats'))).map(([key, value]) => {
            const stats = Object.fromEntries(value.split(',').map((pair) => pair.split('=')));
            const usec = Number(stats.usec);
            const calls = Number(stats.calls);
            return [key.replace(/^cmdstat_/, ''), { calls, usec, usecPerCall: usec / calls }];
          }),
        );
    },
    async stop() {
      client.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fields of an INFO reply, by name. */
export function parseInfo(text) {
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}
