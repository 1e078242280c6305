import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import Redis, { type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { coalesceWrites } from './coalesced-writes';

export type BullClientType = 'client' | 'subscriber' | 'bclient';

/** Reconnect forever, but never wait more than 2 s between tries: Redis coming back must be noticed quickly. */
const retryStrategy = (times: number) => Math.min(100 * times, 2000);

/**
 * The process's Redis connections. One command connection is shared by every Bull queue and store, so
 * commands issued in order reach Redis in order (the email record is written before its job can be taken);
 * it has no offline queue, so while Redis is down a command fails at once and the API answers 503 instead
 * of hanging. Subscriber and blocking connections are separate, as Bull requires.
 */
@Injectable()
export class RedisConnections implements OnApplicationShutdown {
  readonly client: Redis;
  private subscriber?: Redis;
  private readonly blocking: Redis[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.logger.setContext('redis');
    this.client = this.connect('client', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 5000,
    });
    coalesceWrites(this.client);
  }

  /** Bull's `createClient` hook. */
  forBull(type: BullClientType): Redis {
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
    const connections = [this.client, this.subscriber, ...this.blocking].filter((c): c is Redis => !!c);
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
  }

  private connect(name: string, options: RedisOptions): Redis {
    const connection = new Redis(this.config.redis.url, {
      connectionName: `freeface-${name}`,
      connectTimeout: 5000,
      retryStrategy,
      ...options,
    });
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
