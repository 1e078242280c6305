import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './ports';

/**
 * A TCP proxy in front of a Redis primary that can hold back what the primary sends its replicas, as a slow or
 * congested replication link would: clients, sentinels and replicas all reach the primary through it, and a
 * connection is a replication link once its client says `REPLCONF` or `PSYNC`. While held, the primary's
 * replication stream is kept here instead of being forwarded; `dropHeld()` throws it away with the links, as the
 * stream dies with a primary killed before its replicas had it.
 */
export class ReplicationProxy {
  private held = false;
  private readonly links = new Set<{ client: Socket; server: Socket; pending: Buffer[] }>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<ReplicationProxy> {
    const port = await freePort();
    const server = createServer();
    const proxy = new ReplicationProxy(server, port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return proxy;
  }

  /** Stops forwarding the primary's replication stream; it is kept until `release` or `dropHeld`. */
  hold(): void {
    this.held = true;
  }

  /** Forwards again, the held stream first. */
  release(): void {
    this.held = false;
    for (const link of this.links) for (const chunk of link.pending.splice(0)) link.client.write(chunk);
  }

  /** Discards the held stream and closes the replication links. */
  dropHeld(): void {
    this.held = false;
    for (const link of this.links) {
      link.pending.length = 0;
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, targetPort: number): void {
    const server = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    let link: { client: Socket; server: Socket; pending: Buffer[] } | undefined;
    client.on('data', (chunk: Buffer) => {
      if (!link && /REPLCONF|PSYNC/i.test(chunk.toString('latin1'))) {
        link = { client, server, pending: [] };
        this.links.add(link);
        client.once('close', () => this.links.delete(link!));
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (link && this.held) link.pending.push(chunk);
      else client.write(chunk);
    });
  }
}
