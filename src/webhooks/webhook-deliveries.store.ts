import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, pipelinedScript, type PipelinedScript } from '../redis/scripts';
import { SortedSetPager, type Page, type SortedSetEntry } from '../redis/sorted-set-page';
import type { WebhookEventType } from './webhook-event-types';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
/** pending: waiting for its first attempt or a retry; succeeded: a 2xx came back; failed: out of retries. */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event on its way to one endpoint. */
export interface WebhookDelivery {
  id: string;
  webhookId: string;
  /** The event's id (`webhook-id`): the same for every endpoint and every attempt, for de-duplication. */
  eventId: string;
  type: WebhookEventType;
  emailId: string;
  status: DeliveryStatus;
  attempts: number;
  /** Attempts made before its last replay: a replay starts the retry schedule afresh. */
  attemptsBeforeReplay: number;
  createdAt: number;
  lastAttemptAt?: number;
  nextAttemptAt?: number;
  /** The receiver's last HTTP status; undefined when it gave none (refused, timed out). */
  responseStatus?: number;
  lastError?: string;
  /** The JSON body sent; dropped once delivered (only a failed delivery can be sent again). */
  payload?: string;
}

export type NewDelivery = Pick<
  WebhookDelivery,
  'id' | 'webhookId' | 'eventId' | 'type' | 'emailId' | 'payload'
>;

/** What an attempt came to. */
export type AttemptOutcome =
  | { ok: true; responseStatus: number }
  | { ok: false; responseStatus?: number; error: string; nextAttemptAt?: number };

const DAY_MS = 86_400_000;

type CreateKeys = [delivery: string, endpointList: string, pendingList: string];
type CreateArgs = [
  id: string,
  now: number,
  retentionMs: number,
  webhookId: string,
  eventId: string,
  type: string,
  emailId: string,
  payload: string,
];
const CREATE = loadScript<CreateKeys, CreateArgs, 0 | 1>(__dirname, 'create-delivery.lua');

const FIELDS = [
  'webhookId',
  'eventId',
  'type',
  'emailId',
  'status',
  'attempts',
  'createdAt',
  'lastAttemptAt',
  'nextAttemptAt',
  'attemptsBeforeReplay',
  'responseStatus',
  'lastError',
] as const;

/**
 * Webhook deliveries in Redis: a hash each, expiring after AUDIT_RETENTION_DAYS, and per endpoint a sorted
 * set of all its deliveries plus one per status, by creation time, so that `?status=failed` pages without
 * scanning the others. The lists are trimmed to the retention as deliveries are added.
 */
@Injectable()
export class WebhookDeliveriesStore {
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  private readonly pager: SortedSetPager;
  private readonly create: PipelinedScript<CreateKeys, CreateArgs>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.auditRetentionDays * DAY_MS;
    this.pager = new SortedSetPager(this.redis);
    this.create = pipelinedScript(this.redis, CREATE);
  }

  /**
   * Records new deliveries as pending, in one round trip. A delivery already recorded is left as it is: the
   * dispatcher queues a batch again when it could not tell whether its first try landed, and that must not
   * reset a delivery already sent.
   */
  async createMany(deliveries: readonly NewDelivery[], now = Date.now()): Promise<void> {
    if (deliveries.length === 0) return;
    const pipeline = this.redis.pipeline();
    const endpoints = new Set<string>();
    for (const delivery of deliveries) {
      this.create(
        pipeline,
        [
          this.keys.webhookDelivery(delivery.id),
          this.keys.webhookDeliveries(delivery.webhookId),
          this.keys.webhookDeliveries(delivery.webhookId, 'pending'),
        ],
        [
          delivery.id,
          now,
          this.retentionMs,
          delivery.webhookId,
          delivery.eventId,
          delivery.type,
          delivery.emailId,
          delivery.payload ?? '',
        ],
      );
      endpoints.add(delivery.webhookId);
    }
    const expired = now - this.retentionMs;
    for (const webhookId of endpoints) {
      for (const status of [undefined, ...DELIVERY_STATUSES])
        pipeline.zremrangebyscore(this.keys.webhookDeliveries(webhookId, status), '-inf', expired);
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error)?.[0];
    if (failed) throw failed;
  }

  async find(id: string, withPayload = false): Promise<WebhookDelivery | undefined> {
    const values = await this.redis.hmget(
      this.keys.webhookDelivery(id),
      ...FIELDS,
      ...(withPayload ? ['payload'] : []),
    );
    return toDelivery(id, values);
  }

  /** Records one attempt: a success or the last failure ends the delivery; another failure keeps it pending. */
  async recordAttempt(delivery: WebhookDelivery, outcome: AttemptOutcome, now = Date.now()): Promise<void> {
    const status: DeliveryStatus = outcome.ok ? 'succeeded' : outcome.nextAttemptAt ? 'pending' : 'failed';
    const key = this.keys.webhookDelivery(delivery.id);
    const transaction = this.redis
      .multi()
      .hincrby(key, 'attempts', 1)
      // Alive as long as it is being tried (a schedule may outlast a short AUDIT_RETENTION_DAYS).
      .pexpire(key, this.retentionMs)
      .hset(key, {
        status,
        lastAttemptAt: now,
        ...(outcome.responseStatus !== undefined ? { responseStatus: outcome.responseStatus } : {}),
        ...(!outcome.ok ? { lastError: outcome.error } : {}),
        ...(!outcome.ok && outcome.nextAttemptAt ? { nextAttemptAt: outcome.nextAttemptAt } : {}),
      });
    // Fields an earlier attempt left that this one makes wrong.
    const stale = outcome.ok
      ? ['payload', 'lastError', 'nextAttemptAt']
      : [
          ...(outcome.responseStatus === undefined ? ['responseStatus'] : []),
          ...(outcome.nextAttemptAt ? [] : ['nextAttemptAt']),
        ];
    if (stale.length > 0) transaction.hdel(key, ...stale);
    this.moveTo(transaction, delivery, status);
    await transaction.exec();
  }

  /** Makes a failed delivery pending again, for a replay; false when it is not failed (or gone). */
  async reopen(delivery: WebhookDelivery): Promise<boolean> {
    if (delivery.status !== 'failed') return false;
    const transaction = this.redis
      .multi()
      .hset(this.keys.webhookDelivery(delivery.id), {
        status: 'pending',
        attemptsBeforeReplay: delivery.attempts,
      })
      .hdel(this.keys.webhookDelivery(delivery.id), 'nextAttemptAt')
      .pexpire(this.keys.webhookDelivery(delivery.id), this.retentionMs);
    this.moveTo(transaction, delivery, 'pending');
    await transaction.exec();
    return true;
  }

  /** A page of an endpoint's deliveries, newest first, after the position `after` (exclusive). */
  page(
    webhookId: string,
    status: DeliveryStatus | undefined,
    limit: number,
    after?: SortedSetEntry,
  ): Promise<Page<WebhookDelivery>> {
    return this.pager.page({
      keys: [this.keys.webhookDeliveries(webhookId, status)],
      limit,
      ...(after ? { after } : {}),
      load: async (entries) => {
        const pipeline = this.redis.pipeline();
        for (const { id } of entries) pipeline.hmget(this.keys.webhookDelivery(id), ...FIELDS);
        const replies = (await pipeline.exec()) ?? [];
        return entries.map(({ id }, i) => toDelivery(id, (replies[i]?.[1] ?? []) as (string | null)[]));
      },
    });
  }

  /** How many deliveries within the retention are in each status, over the endpoints given; one round trip. */
  async countByStatus(webhookIds: readonly string[]): Promise<Record<DeliveryStatus, number>> {
    const counts = { pending: 0, succeeded: 0, failed: 0 };
    if (webhookIds.length === 0) return counts;
    const pipeline = this.redis.pipeline();
    for (const id of webhookIds)
      for (const status of DELIVERY_STATUSES) pipeline.zcard(this.keys.webhookDeliveries(id, status));
    const replies = (await pipeline.exec()) ?? [];
    replies.forEach(([error, count], i) => {
      if (error) throw error;
      counts[DELIVERY_STATUSES[i % DELIVERY_STATUSES.length]!] += Number(count);
    });
    return counts;
  }

  /** Drops a deleted endpoint's delivery lists (the deliveries' own records expire on their own). */
  async forgetEndpoint(webhookId: string): Promise<void> {
    await this.redis.del(
      this.keys.webhookDeliveries(webhookId),
      ...DELIVERY_STATUSES.map((status) => this.keys.webhookDeliveries(webhookId, status)),
    );
  }

  private moveTo(
    transaction: ReturnType<RedisClient['multi']>,
    delivery: WebhookDelivery,
    status: DeliveryStatus,
  ): void {
    for (const other of DELIVERY_STATUSES)
      if (other !== status)
        transaction.zrem(this.keys.webhookDeliveries(delivery.webhookId, other), delivery.id);
    transaction.zadd(
      this.keys.webhookDeliveries(delivery.webhookId, status),
      delivery.createdAt,
      delivery.id,
    );
  }
}

function toDelivery(id: string, values: readonly (string | null)[]): WebhookDelivery | undefined {
  const [
    webhookId,
    eventId,
    type,
    emailId,
    status,
    attempts,
    createdAt,
    lastAttemptAt,
    nextAttemptAt,
    before,
  ] = values;
  const [responseStatus, lastError, payload] = values.slice(FIELDS.length - 2);
  if (!webhookId || !eventId || !status) return undefined;
  return {
    id,
    webhookId,
    eventId,
    type: type as WebhookEventType,
    emailId: emailId ?? '',
    status: status as DeliveryStatus,
    attempts: Number(attempts ?? 0),
    attemptsBeforeReplay: Number(before ?? 0),
    createdAt: Number(createdAt),
    ...(lastAttemptAt ? { lastAttemptAt: Number(lastAttemptAt) } : {}),
    ...(nextAttemptAt ? { nextAttemptAt: Number(nextAttemptAt) } : {}),
    ...(responseStatus ? { responseStatus: Number(responseStatus) } : {}),
    ...(lastError ? { lastError } : {}),
    ...(payload ? { payload } : {}),
  };
}
