import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { freePort, waitUntil } from './ports';
import { answersPing } from './private-redis';
import { ReplicationProxy } from './replication-proxy';

const exec = promisify(execFile);

/** Every server still running: killed when the test process exits, so a failed test leaves no orphan. */
const running = new Set<ChildProcess>();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/** One redis-server (or sentinel) process on a port of its own, which a test can kill -9 and start again. */
export class RedisNode {
  private process?: ChildProcess;

  constructor(
    readonly port: number,
    private readonly args: readonly string[],
    readonly dir: string,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get isRunning(): boolean {
    return !!this.process && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Starts the server with its arguments, and `extra` after them this time only. */
  async start(extra: readonly string[] = []): Promise<void> {
    const child = spawn('redis-server', [...this.args, ...extra], { cwd: this.dir, stdio: 'ignore' });
    this.process = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    await waitUntil(() => this.answers(), 10_000, `redis on port ${this.port}`);
  }

  /** kill -9: the process dies with whatever it had not yet replicated. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || !this.isRunning) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the process stops answering (and replicating) until `resume`, its sockets still open. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** A fresh client of this node alone; the caller quits it. */
  client(): Redis {
    return new Redis(this.port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => null });
  }

  async info(section: string): Promise<Record<string, string>> {
    const client = this.client();
    try {
      return parseInfo(await client.info(section));
    } finally {
      client.disconnect();
    }
  }

  /** Whether this server is a replica whose link to its primary is up. */
  async isInSyncReplica(): Promise<boolean> {
    const replication = await this.info('replication').catch(() => undefined);
    return replication?.role === 'slave' && replication.master_link_status === 'up';
  }

  private answers(): Promise<boolean> {
    return answersPing(`redis://127.0.0.1:${this.port}`);
  }
}

export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** A server's arguments as production runs it, without persistence (a test's data is its own). */
export const serverArgs = (port: number): string[] => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--maxmemory-policy',
  'noeviction',
];

/**
 * A primary with replicas watched by sentinels (quorum 2), as production runs it, on free ports of
 * 127.0.0.1. Sentinels call the primary down after `downAfterMs` without an answer and then fail over.
 */
export class SentinelTopology {
  static readonly NAME = 'freeface-primary';

  private constructor(
    readonly servers: RedisNode[],
    readonly sentinels: RedisNode[],
    /** Everyone reaches the first primary through it, so that a test can hold its replication stream back. */
    readonly replication: ReplicationProxy,
    private readonly root: string,
  ) {}

  static async start(options: { replicas?: number; sentinels?: number; downAfterMs?: number } = {}) {
    const root = mkdtempSync(join(tmpdir(), 'freeface-sentinel-'));
    const primaryPort = await freePort();
    const proxy = await ReplicationProxy.start(primaryPort);
    // The sentinels know the first primary by the proxy's address: as a replica it announces that one too, or
    // they would know it twice.
    const servers = [
      new RedisNode(
        primaryPort,
        [...serverArgs(primaryPort), '--replica-announce-port', String(proxy.port)],
        join(root, 'server-0'),
      ),
    ];
    for (let i = 1; i <= (options.replicas ?? 2); i++) {
      const port = await freePort();
      servers.push(
        new RedisNode(
          port,
          [...serverArgs(port), '--replicaof', '127.0.0.1', String(proxy.port)],
          join(root, `server-${i}`),
        ),
      );
    }
    const sentinels: RedisNode[] = [];
    for (let i = 0; i < (options.sentinels ?? 3); i++) {
      const port = await freePort();
      const dir = join(root, `sentinel-${i}`);
      mkdirSync(dir, { recursive: true });
      // A sentinel rewrites its configuration file as it learns the topology: each has its own.
      writeFileSync(
        join(dir, 'sentinel.conf'),
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SentinelTopology.NAME} 127.0.0.1 ${proxy.port} 2`,
          `sentinel down-after-milliseconds ${SentinelTopology.NAME} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${SentinelTopology.NAME} 10000`,
          `sentinel parallel-syncs ${SentinelTopology.NAME} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(new RedisNode(port, [join(dir, 'sentinel.conf'), '--sentinel'], dir));
    }
    const topology = new SentinelTopology(servers, sentinels, proxy, root);
    for (const server of servers) await server.start();
    await Promise.all(sentinels.map((sentinel) => sentinel.start()));
    await topology.waitUntilSettled();
    return topology;
  }

  /** REDIS_SENTINELS for the app. */
  get sentinelList(): string {
    return this.sentinels.map((s) => s.address).join(',');
  }

  /** The server the sentinels name as primary now. */
  async primary(): Promise<RedisNode> {
    const sentinel = this.sentinels.find((s) => s.isRunning)!.client();
    try {
      const [, port] = (await sentinel.call(
        'SENTINEL',
        'get-master-addr-by-name',
        SentinelTopology.NAME,
      )) as [string, string];
      const primaryPort = Number(port) === this.replication.port ? this.servers[0]!.port : Number(port);
      return this.servers.find((server) => server.port === primaryPort)!;
    } finally {
      sentinel.disconnect();
    }
  }

  /**
   * Kills the primary with -9, waits until the sentinels have promoted another server and it takes writes,
   * then starts the old one again as a replica of the new primary, as an operator brings a failed primary
   * back (started as it was, and empty, it would take writes as a primary until the sentinels demote it, and
   * lose them then), and waits until it is in sync.
   * Returns how long the switch took, from the kill to a primary taking writes.
   */
  async failOver(): Promise<{ killed: RedisNode; promoted: RedisNode; switchMs: number }> {
    const killed = await this.primary();
    const killedAt = Date.now();
    await killed.kill();
    let promoted = killed;
    await waitUntil(
      async () => {
        promoted = await this.primary().catch(() => killed);
        return promoted !== killed && (await promoted.info('replication')).role === 'master';
      },
      60_000,
      'the sentinels to promote a replica',
    );
    const switchMs = Date.now() - killedAt;
    await killed.start(['--replicaof', '127.0.0.1', String(promoted.port)]);
    await waitUntil(
      () => killed.isInSyncReplica(),
      60_000,
      `the old primary (port ${killed.port}) to replicate from the new one`,
    );
    return { killed, promoted, switchMs };
  }

  /**
   * A planned failover (`SENTINEL FAILOVER`): the primary is alive and is demoted, Sentinel killing its clients'
   * connections, while a replica is promoted. Returns how long until the new primary takes writes; the last
   * step of a test, as the old primary may not be a replica yet.
   */
  async handOver(): Promise<{ switchMs: number }> {
    const started = Date.now();
    const old = await this.primary();
    // A sentinel refuses while the last failover is still being finished (INPROG): ask again.
    await waitUntil(
      async () => {
        const sentinel = this.sentinels[0]!.client();
        try {
          await sentinel.call('SENTINEL', 'FAILOVER', SentinelTopology.NAME);
          return true;
        } catch (error) {
          if ((error as Error).message.startsWith('INPROG')) return false;
          throw error;
        } finally {
          sentinel.disconnect();
        }
      },
      30_000,
      'the sentinels to take a planned failover',
    );
    await waitUntil(
      async () => {
        const now = await this.primary().catch(() => old);
        return now !== old && (await now.info('replication')).role === 'master';
      },
      90_000,
      'the sentinels to hand the primary over',
    );
    // The sentinels make the demoted primary a replica in their own time (on a loaded machine a sentinel in
    // TILT mode, its timer having run late, acts after 30 s); the test goes on without waiting for it.
    return { switchMs: Date.now() - started };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map((node) => node.kill()));
    await this.replication.stop();
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Every sentinel knows every replica and the other sentinels, and every replica is in sync. */
  private async waitUntilSettled(): Promise<void> {
    const replicas = this.servers.length - 1;
    await waitUntil(
      async () => {
        for (const sentinel of this.sentinels) {
          const client = sentinel.client();
          try {
            const [master] = (await client.call('SENTINEL', 'masters')) as string[][];
            const fields = Object.fromEntries(
              (master ?? []).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])),
            );
            if (Number(fields['num-slaves']) < replicas || Number(fields['num-other-sentinels']) < 2)
              return false;
          } finally {
            client.disconnect();
          }
        }
        const replication = await this.servers[0]!.info('replication');
        return Number(replication.connected_slaves) === replicas;
      },
      30_000,
      'the sentinels to see every replica and each other',
    );
  }
}

/**
 * A Redis Cluster of `primaries` shards with `replicasPerPrimary` replicas each, made by `redis-cli --cluster
 * create` on free ports of 127.0.0.1.
 */
export class ClusterTopology {
  private constructor(
    readonly nodes: RedisNode[],
    private readonly root: string,
  ) {}

  static async start(options: { primaries?: number; replicasPerPrimary?: number } = {}) {
    const root = mkdtempSync(join(tmpdir(), 'freeface-cluster-'));
    const replicasPerPrimary = options.replicasPerPrimary ?? 1;
    const count = (options.primaries ?? 3) * (1 + replicasPerPrimary);
    const nodes: RedisNode[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      // The bus port defaults to port + 10,000, which a free port above 55,535 would push past 65,535.
      const busPort = await freePort();
      nodes.push(
        new RedisNode(
          port,
          [
            ...serverArgs(port),
            ...[
              '--cluster-enabled',
              'yes',
              '--cluster-node-timeout',
              '2000',
              '--cluster-port',
              String(busPort),
            ],
          ],
          join(root, `node-${i}`),
        ),
      );
    }
    await Promise.all(nodes.map((node) => node.start()));
    await exec('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => node.address),
      '--cluster-replicas',
      String(replicasPerPrimary),
      '--cluster-yes',
    ]);
    const topology = new ClusterTopology(nodes, root);
    await waitUntil(
      async () => {
        const client = nodes[0]!.client();
        try {
          if (!((await client.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) return false;
        } finally {
          client.disconnect();
        }
        const roles = await Promise.all(nodes.map((node) => node.info('replication')));
        return roles.every((r) =>
          r.role === 'master'
            ? Number(r.connected_slaves) === replicasPerPrimary
            : r.master_link_status === 'up',
        );
      },
      30_000,
      'the cluster to be ok and every replica in sync',
    );
    return topology;
  }

  /** The primary that holds `key`'s slot now. */
  async primaryOf(key: string): Promise<RedisNode> {
    const client = this.nodes.find((node) => node.isRunning)!.client();
    try {
      const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
      const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const [, , [, port]] = ranges.find(([from, to]) => slot >= from && slot <= to)!;
      return this.nodes.find((node) => node.port === port)!;
    } finally {
      client.disconnect();
    }
  }

  /**
   * Kills the primary of `key`'s slot with -9, waits until its replica has taken the slot over, then starts
   * the old one again, which rejoins as the new primary's replica.
   */
  async failOver(key: string): Promise<{ switchMs: number }> {
    const killed = await this.primaryOf(key);
    const killedAt = Date.now();
    await killed.kill();
    await waitUntil(
      async () => (await this.primaryOf(key).catch(() => killed)) !== killed,
      30_000,
      'a replica to take the slot over',
    );
    const switchMs = Date.now() - killedAt;
    await killed.start();
    await waitUntil(() => killed.isInSyncReplica(), 30_000, `node ${killed.port} to rejoin as a replica`);
    return { switchMs };
  }

  /**
   * A planned failover of `key`'s slot (`CLUSTER FAILOVER` on its primary's replica, as an operator runs before
   * maintenance): the replica takes over once it has every write, and the old primary becomes its replica.
   */
  async handOver(key: string): Promise<{ switchMs: number }> {
    const started = Date.now();
    const primary = await this.primaryOf(key);
    const client = primary.client();
    let replica: RedisNode;
    try {
      const id = (await client.call('CLUSTER', 'MYID')) as string;
      const [line] = (await client.call('CLUSTER', 'REPLICAS', id)) as string[];
      const port = Number(/:(\d+)@/.exec(line!)![1]);
      replica = this.nodes.find((node) => node.port === port)!;
    } finally {
      client.disconnect();
    }
    const promoted = replica.client();
    await promoted.call('CLUSTER', 'FAILOVER').finally(() => promoted.disconnect());
    await waitUntil(
      async () => (await this.primaryOf(key)) === replica,
      30_000,
      'the replica to take the slot over',
    );
    return { switchMs: Date.now() - started };
  }

  /**
   * Moves `key`'s slot, with every key in it, to another primary while clients keep using it, as
   * `redis-cli --cluster reshard` moves slots (which cannot name the slot): the target imports, the source
   * migrates key by key, then every primary is told the new owner. Returns how many keys moved and how long
   * it took.
   */
  async moveSlot(key: string): Promise<{ keys: number; ms: number }> {
    const started = Date.now();
    const source = await this.primaryOf(key);
    const primaries = await this.primaries();
    const target = primaries.find((node) => node !== source)!;
    const [from, to] = [source.client(), target.client()];
    try {
      const slot = (await from.call('CLUSTER', 'KEYSLOT', key)) as number;
      const [fromId, toId] = [
        (await from.call('CLUSTER', 'MYID')) as string,
        (await to.call('CLUSTER', 'MYID')) as string,
      ];
      await to.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
      await from.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      let moved = 0;
      for (;;) {
        const keys = (await from.call('CLUSTER', 'GETKEYSINSLOT', slot, 200)) as string[];
        if (keys.length === 0) break;
        await from.call('MIGRATE', '127.0.0.1', target.port, '', 0, 10_000, 'REPLACE', 'KEYS', ...keys);
        moved += keys.length;
      }
      for (const node of primaries) {
        const client = node.client();
        await client.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId).finally(() => client.disconnect());
      }
      return { keys: moved, ms: Date.now() - started };
    } finally {
      from.disconnect();
      to.disconnect();
    }
  }

  private async primaries(): Promise<RedisNode[]> {
    const roles = await Promise.all(
      this.nodes.map(async (node) => (node.isRunning ? (await node.info('replication')).role : '')),
    );
    return this.nodes.filter((_, i) => roles[i] === 'master');
  }

  /** REDIS_CLUSTER_NODES for the app. */
  get nodeList(): string {
    return this.nodes.map((node) => node.address).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.kill()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
