import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { coalesceWrites } from './coalesced-writes';
import { connectionSettings } from './connection-settings';

export type BullClientType = 'client' | 'subscriber' | 'bclient';

/** A connection to FreeFace's Redis, whichever its topology: one server (or Sentinel's primary), or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * The process's Redis connections. One command connection is shared by every Bull queue and store, so
 * commands issued in order reach Redis in order (the email record is written before its job can be taken);
 * it has no offline queue and resends nothing, so while Redis is down a command fails at once and the API
 * answers 503 instead of hanging. Subscriber and blocking connections are separate, as Bull requires. Every connection is made
 * for the configured topology (connection-settings.ts), so Sentinel and cluster reach all of them alike.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  readonly client: RedisClient;
  private subscriber?: RedisClient;
  private readonly blocking: RedisClient[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('redis');
    // No command is ever sent twice: one in flight when the connection drops fails (503) rather than being sent
    // again after the reconnect, where it could reach another server (a new primary that never had the writes a
    // WAIT was to confirm, or a script's effects applied twice).
    this.client = this.connect('client', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 5000,
    });
    if (this.client instanceof Cluster) this.client.on('+node', (node: Redis) => coalesceWrites(node));
    else coalesceWrites(this.client);
  }

  /** Bull's `createClient` hook. */
  forBull(type: BullClientType): RedisClient {
    if (type === 'client') return this.client;
    const options = { maxRetriesPerRequest: null, enableReadyCheck: false };
    if (type === 'subscriber') return (this.subscriber ??= this.connect('subscriber', options));
    const connection = this.connect('bclient', options);
    this.blocking.push(connection);
    return connection;
  }

  isReady(): boolean {
    return this.client.status === 'ready';
  }

  async onApplicationShutdown(): Promise<void> {
    const connections = [this.client, this.subscriber, ...this.blocking].filter((c): c is RedisClient => !!c);
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private connect(name: string, options: RedisOptions): RedisClient {
    const settings = connectionSettings(this.config.redis, `freeface-${name}`, options);
    const connection =
      settings.mode === 'cluster'
        ? new Cluster([...settings.nodes], settings.options)
        : settings.url
          ? new Redis(settings.url, settings.options)
          : new Redis(settings.options);
    // One line when a connection drops and one when it is back, not one per reconnect attempt.
    let isDown = false;
    connection.on('ready', () => {
      if (isDown) this.logger.info({ connection: name }, 'redis connection restored');
      isDown = false;
    });
    connection.on('error', (error: Error) => {
      if (!isDown)
        this.logger.warn({ connection: name, err: { message: error.message } }, 'redis connection lost');
      isDown = true;
    });
    connection.on('end', () => this.logger.debug({ connection: name }, 'redis connection closed'));
    return connection;
  }
}
