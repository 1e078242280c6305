import { createConnection } from 'node:net';
import { RedisKeys } from '../../src/redis/redis-keys';
import { waitUntil } from './ports';
import type { PrivateRedis } from './private-redis';

/** A command Redis ran, as MONITOR shows it: its words, and who sent it (`host:port`, or `lua` in a script). */
type CommandSeen = (args: string[], source: string) => void;

/** One line of MONITOR: `+<time> [<db> <source>] "<word>" "<word>" …`. */
const MONITOR_LINE = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/;
const QUOTED_WORD = /"((?:[^"\\]|\\.)*)"/g;

/**
 * Redis's command stream on a socket of its own, read line by line. ioredis's monitor mode is not used: it
 * misreads the first lines when they arrive in the same packet as MONITOR's own OK (a "Command queue state
 * error"), which a busy server makes likely. Resolves, once MONITOR is on, with a function that closes it.
 */
function watchCommands(url: string, onCommand: CommandSeen): Promise<() => void> {
  const { hostname, port, password } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let okToCome = password ? 2 : 1;
    let pending = '';
    socket.setEncoding('utf8');
    socket.once('error', reject);
    socket.on('connect', () =>
      socket.write(`${password ? `AUTH ${decodeURIComponent(password)}\r\n` : ''}MONITOR\r\n`),
    );
    socket.on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\r\n'); end >= 0; end = pending.indexOf('\r\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (okToCome > 0) {
          if (line !== '+OK') return reject(new Error(`MONITOR refused: ${line}`));
          if (--okToCome === 0) resolve(() => socket.destroy());
          continue;
        }
        const match = MONITOR_LINE.exec(line);
        if (!match) continue;
        const words = [...match[2]!.matchAll(QUOTED_WORD)].map((word) => word[1]!.replace(/\\(.)/g, '$1'));
        onCommand(words, match[1]!);
      }
    });
  });
}

/**
 * Runs `change` (creating or deleting webhooks) and resolves with its result once `processes` app processes
 * have reloaded the webhook endpoints after it.
 *
 * Every api and worker process keeps the endpoints in memory and reloads them when their version number in
 * Redis changes (it looks once a second): an event that happens before a process reloaded is not sent to a new
 * webhook. The reloads are watched in Redis's command stream (MONITOR), which is in the order Redis ran the
 * commands: each change INCRs the version; after the last of them, a process that reloads reads the version
 * and then the endpoints' sorted set whole, on its one command connection. (The dashboard reads that set too,
 * but never the version first.)
 */
export async function afterEndpointsReload<T>(
  redis: PrivateRedis,
  keyPrefix: string,
  processes: number,
  change: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const keys = new RedisKeys(keyPrefix);
  const [versionKey, endpointsKey] = [keys.webhookEndpointsVersion(), keys.webhookEndpoints()];
  const client = redis.client();
  let changesSeen = 0;
  const readTheVersion = new Set<string>();
  const reloaded = new Set<string>();
  const stopWatching = await watchCommands(redis.url, (args, source) => {
    const [command = '', key, ...rest] = args;
    const name = command.toLowerCase();
    if (name === 'incr' && key === versionKey) {
      changesSeen++;
      readTheVersion.clear();
      reloaded.clear();
    } else if (name === 'get' && key === versionKey) {
      readTheVersion.add(source);
    } else if (name === 'zrange' && key === endpointsKey && rest.join(' ') === '0 -1') {
      if (readTheVersion.has(source)) reloaded.add(source);
    }
  });
  try {
    const versionBefore = Number(await client.get(versionKey));
    const result = await change();
    const changes = Number(await client.get(versionKey)) - versionBefore;
    if (changes === 0) throw new Error('the change changed no webhook endpoint');
    await waitUntil(
      () => changesSeen >= changes && reloaded.size >= processes,
      timeoutMs,
      `${processes} processes to reload the webhook endpoints`,
    ).catch((error: Error) => {
      throw new Error(
        `${error.message} (${changesSeen} of ${changes} changes seen; ${reloaded.size} reloaded)`,
      );
    });
    return result;
  } finally {
    stopWatching();
    client.disconnect();
  }
}
