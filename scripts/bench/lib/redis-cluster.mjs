// A private Redis Cluster for one benchmark: `primaries` redis-servers with --cluster-enabled (each a
// startRedisServer of its own: free port, no persistence, temp dir), no replicas, joined by
// `redis-cli --cluster create … --cluster-yes` and waited for until every node says cluster_state:ok.
// The cluster bus gets a free port of its own (--cluster-port): the default, port + 10,000, can fall
// outside 65,535 for the high ports the system hands out.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, waitUntil } from './processes.mjs';
import { parseInfo, startRedisServer } from './redis-server.mjs';

const exec = promisify(execFile);

export async function startRedisCluster({ primaries = 3 } = {}) {
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    const taken = new Set();
    const anotherFreePort = async () => {
      for (;;) {
        const port = await freePort();
        if (!taken.has(port)) return port;
      }
    };
    for (let i = 0; i < primaries; i++) {
      const busPort = await anotherFreePort();
      taken.add(busPort);
      const node = await startRedisServer({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '2000',
        ],
      });
      taken.add(node.port);
      nodes.push(node);
    }
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitUntil(
      async () => {
        for (const node of nodes) {
          const info = parseInfo(await node.client.call('CLUSTER', 'INFO'));
          if (
            info.cluster_state !== 'ok' ||
            Number(info.cluster_known_nodes) !== primaries ||
            Number(info.cluster_slots_ok) !== 16_384
          )
            return false;
        }
        return true;
      },
      30_000,
      'every node of the cluster to say cluster_state:ok',
    );
    // Which slots each primary serves: CLUSTER SLOTS → [[from, to, [host, port, id]], …].
    const ranges = await nodes[0].client.call('CLUSTER', 'SLOTS');
    for (const node of nodes) {
      node.slots = ranges
        .filter(([, , [, port]]) => port === node.port)
        .map(([from, to]) => [from, to])
        .sort((a, b) => a[0] - b[0]);
    }
    nodes.sort((a, b) => a.slots[0][0] - b.slots[0][0]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    /** The primaries, in the order of their first slot; each a startRedisServer handle plus `slots`. */
    nodes,
    /** REDIS_CLUSTER_NODES for the app. */
    nodeList: nodes.map((node) => `127.0.0.1:${node.port}`).join(','),
    version: nodes[0].version,
    /** The slot of `key` (its hash tag's, when it has one). */
    keyslot: (key) => nodes[0].client.call('CLUSTER', 'KEYSLOT', key),
    stop,
  };
}
