import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { uuidv7 } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SecretBox } from '../common/secret-box';
import type { WebhookEventType } from './webhook-event-types';

/** A calling service's webhook: where its events go and which it wants. */
export interface WebhookEndpoint {
  id: string;
  /** The service that made it. */
  service: string;
  /** Made by an admin service: hears every service's emails, not only its own. */
  allServices: boolean;
  url: string;
  events: WebhookEventType[];
  description?: string;
  createdAt: number;
}

const FIELDS = ['service', 'allServices', 'url', 'events', 'description', 'createdAt'] as const;

/**
 * Webhook endpoints in Redis: a hash each (the secret sealed with WEBHOOK_SECRETS_KEY, never stored plain),
 * a sorted set of ids by creation, and a version number bumped on every change so that every process can
 * tell, with one GET, that its copy is stale.
 */
@Injectable()
export class WebhookEndpointsStore {
  private readonly redis: RedisClient;
  private readonly box: SecretBox;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.box = new SecretBox(config.webhooks.secretsKey);
  }

  async create(
    endpoint: Omit<WebhookEndpoint, 'id' | 'createdAt'>,
    secret: string,
  ): Promise<WebhookEndpoint> {
    const createdAt = Date.now();
    const created: WebhookEndpoint = { id: uuidv7(createdAt), createdAt, ...endpoint };
    await this.redis
      .multi()
      .hset(this.keys.webhookEndpoint(created.id), {
        service: created.service,
        allServices: created.allServices ? '1' : '0',
        url: created.url,
        events: created.events.join(','),
        ...(created.description ? { description: created.description } : {}),
        createdAt,
        secret: this.box.seal(secret),
      })
      .zadd(this.keys.webhookEndpoints(), createdAt, created.id)
      .incr(this.keys.webhookEndpointsVersion())
      .exec();
    return created;
  }

  /** Removes an endpoint. */
  async remove(id: string): Promise<boolean> {
    const replies = await this.redis
      .multi()
      .del(this.keys.webhookEndpoint(id))
      .zrem(this.keys.webhookEndpoints(), id)
      .incr(this.keys.webhookEndpointsVersion())
      .exec();
    return Number(replies?.[0]?.[1]) === 1;
  }

  async find(id: string): Promise<WebhookEndpoint | undefined> {
    const values = await this.redis.hmget(this.keys.webhookEndpoint(id), ...FIELDS);
    return toEndpoint(id, values);
  }

  /** The endpoint and its secret, for signing a delivery; undefined when it was deleted. */
  async findWithSecret(id: string): Promise<{ endpoint: WebhookEndpoint; secret: string } | undefined> {
    const values = await this.redis.hmget(this.keys.webhookEndpoint(id), ...FIELDS, 'secret');
    const endpoint = toEndpoint(id, values);
    const sealed = values[FIELDS.length];
    return endpoint && sealed ? { endpoint, secret: this.box.open(sealed) } : undefined;
  }

  /** Every endpoint's id, oldest first. */
  ids(): Promise<string[]> {
    return this.redis.zrange(this.keys.webhookEndpoints(), 0, -1);
  }

  /** Every endpoint, oldest first: a handful per service, so they are read whole. */
  async all(): Promise<WebhookEndpoint[]> {
    const ids = await this.ids();
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.webhookEndpoint(id), ...FIELDS);
    const replies = (await pipeline.exec()) ?? [];
    return ids.flatMap((id, i) => {
      const endpoint = toEndpoint(id, (replies[i]?.[1] ?? []) as (string | null)[]);
      return endpoint ? [endpoint] : [];
    });
  }

  /** The version of the endpoints: it changes whenever one is created or removed. */
  async version(): Promise<string> {
    return (await this.redis.get(this.keys.webhookEndpointsVersion())) ?? '0';
  }
}

function toEndpoint(id: string, values: readonly (string | null)[]): WebhookEndpoint | undefined {
  const [service, allServices, url, events, description, createdAt] = values;
  if (!service || !url || !events) return undefined;
  return {
    id,
    service,
    allServices: allServices === '1',
    url,
    events: events.split(',') as WebhookEventType[],
    ...(description ? { description } : {}),
    createdAt: Number(createdAt),
  };
}
