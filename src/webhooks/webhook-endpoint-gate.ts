import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { WebhookQueue } from '../queue/webhook-queue';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import { WEBHOOK_TIMEOUT_MS } from './webhook-sender';

/**
 * How long a slot stays taken without its holder giving it back: an attempt's request (its 10 s timeout)
 * with room for the Redis calls around it. Only a killed worker's slots ever run out this way.
 */
export const SLOT_LEASE_MS = WEBHOOK_TIMEOUT_MS + 20_000;
/** A job handed a slot while it is still being put back to wait is looked at again this often, this many times. */
const WAKE_RETRY_MS = 200;
const WAKE_TRIES = 5;

/** What an attempt came to, for the endpoint's health: an HTTP answer, no answer in time, or neither. */
export type AttemptKind = 'answered' | 'timeout' | 'other';
/** admitted: the job holds a slot and may send; waiting: it is in line for one; held: the endpoint is paused. */
export type Admission = 'admitted' | 'waiting' | 'held';

/** Whether an endpoint is paused, since when and why. */
export interface EndpointHealth {
  pausedAt?: number;
  pausedReason?: string;
}

type SlotKeys = [slots: string, line: string, health: string];
type EndpointKeys = [...SlotKeys, paused: string];
type AdmitArgs = [jobId: string, place: number, leaseMs: number, limit: number];
const ADMIT = loadScript<SlotKeys, AdmitArgs, string[]>(__dirname, 'admit-to-endpoint.lua');
type ReleaseArgs = [
  jobId: string,
  kind: AttemptKind,
  leaseMs: number,
  limit: number,
  pauseAfter: number,
  reason: string,
  endpointId: string,
];
type SlotsReply = (number | string)[];
const RELEASE = loadScript<EndpointKeys, ReleaseArgs, SlotsReply>(__dirname, 'release-endpoint-slot.lua');
type ResumeArgs = [leaseMs: number, limit: number, endpointId: string];
const RESUME = loadScript<EndpointKeys, ResumeArgs, SlotsReply>(__dirname, 'resume-endpoint.lua');

/**
 * Who may send to a webhook endpoint, over every worker: at most WEBHOOK_ENDPOINT_CONCURRENCY requests in
 * flight per endpoint (slots held in Redis, each lapsing after SLOT_LEASE_MS so that a killed worker's slot
 * comes back), the deliveries that found no free slot in line, oldest first, and the endpoint's health: after
 * WEBHOOK_PAUSE_AFTER_TIMEOUTS attempts in a row without an answer it is paused until resumed, its deliveries
 * held in line meanwhile. A job waiting in line sits in Bull's delayed set: whoever frees a slot hands it to
 * the first in line and wakes that job; a wake that is lost (a process killed at that moment) is made up by
 * the job looking again on its own after a while.
 */
@Injectable()
export class WebhookEndpointGate {
  private readonly redis: RedisClient;
  private readonly limit: number;
  private readonly pauseAfter: number;
  private readonly admitScript: ScriptCommand<SlotKeys, AdmitArgs, string[]>;
  private readonly releaseScript: ScriptCommand<EndpointKeys, ReleaseArgs, SlotsReply>;
  private readonly resumeScript: ScriptCommand<EndpointKeys, ResumeArgs, SlotsReply>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly queue: WebhookQueue,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.logger.setContext('webhooks');
    this.redis = connections.client;
    this.limit = config.webhooks.endpointConcurrency;
    this.pauseAfter = config.webhooks.pauseAfterTimeouts;
    this.admitScript = scriptCommand(this.redis, ADMIT);
    this.releaseScript = scriptCommand(this.redis, RELEASE);
    this.resumeScript = scriptCommand(this.redis, RESUME);
  }

  /** Asks for a slot for a job; `place` orders the line (its delivery's creation time: oldest first). */
  async admit(endpointId: string, jobId: string, place: number): Promise<Admission> {
    const [verdict, ...woken] = await this.admitScript(this.slotKeys(endpointId), [
      jobId,
      place,
      SLOT_LEASE_MS,
      this.limit,
    ]);
    await this.wake(endpointId, woken);
    return verdict as Admission;
  }

  /**
   * Gives a job's slot (and place in line) back after an attempt of the given kind, or without one
   * (`other`). Returns when this attempt paused the endpoint (Redis time, ms), else undefined.
   */
  async release(endpointId: string, jobId: string, kind: AttemptKind): Promise<number | undefined> {
    const [pausedAt, ...woken] = await this.releaseScript(this.endpointKeys(endpointId), [
      jobId,
      kind,
      SLOT_LEASE_MS,
      this.limit,
      this.pauseAfter,
      `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s to ${this.pauseAfter} attempts in a row`,
      endpointId,
    ]);
    await this.wake(endpointId, woken.map(String));
    return Number(pausedAt) > 0 ? Number(pausedAt) : undefined;
  }

  /**
   * Resumes a paused endpoint: its held deliveries are sent again, oldest first, as slots allow. Returns how
   * many were held, or undefined when it was not paused.
   */
  async resume(endpointId: string): Promise<{ held: number } | undefined> {
    const [resumed, held, ...woken] = await this.resumeScript(this.endpointKeys(endpointId), [
      SLOT_LEASE_MS,
      this.limit,
      endpointId,
    ]);
    if (Number(resumed) !== 1) return undefined;
    await this.wake(endpointId, woken.map(String));
    return { held: Number(held) };
  }

  /** Each endpoint's health, in one round trip. */
  async health(endpointIds: readonly string[]): Promise<Map<string, EndpointHealth>> {
    const pipeline = this.redis.pipeline();
    for (const id of endpointIds) pipeline.hmget(this.keys.webhookHealth(id), 'pausedAt', 'pausedReason');
    const replies = (await pipeline.exec()) ?? [];
    const health = new Map<string, EndpointHealth>();
    endpointIds.forEach((id, i) => {
      const [error, values] = replies[i] ?? [];
      if (error) throw error;
      const [pausedAt, pausedReason] = (values ?? []) as (string | null)[];
      health.set(id, pausedAt ? { pausedAt: Number(pausedAt), pausedReason: pausedReason ?? '' } : {});
    });
    return health;
  }

  /** How many endpoints are paused. */
  pausedCount(): Promise<number> {
    return this.redis.scard(this.keys.pausedWebhookEndpoints());
  }

  /** Drops everything kept for a deleted endpoint. */
  async forget(endpointId: string): Promise<void> {
    await this.redis
      .multi()
      .del(...this.slotKeys(endpointId))
      .srem(this.keys.pausedWebhookEndpoints(), endpointId)
      .exec();
  }

  private slotKeys(endpointId: string): SlotKeys {
    return [
      this.keys.webhookSlots(endpointId),
      this.keys.webhookLine(endpointId),
      this.keys.webhookHealth(endpointId),
    ];
  }

  private endpointKeys(endpointId: string): EndpointKeys {
    return [...this.slotKeys(endpointId), this.keys.pausedWebhookEndpoints()];
  }

  /**
   * Wakes the jobs just handed a slot. One that no longer exists gives its slot on to the next in line; one
   * still running (it is being put back to wait at this moment) is looked at again a little later. A failure
   * here is logged, not thrown: the jobs wake on their own later, and the slots lapse.
   */
  private async wake(endpointId: string, jobIds: readonly string[], triesLeft = WAKE_TRIES): Promise<void> {
    const running: string[] = [];
    try {
      for (const jobId of jobIds) {
        const state = await this.queue.wake(jobId);
        if (state === 'running') running.push(jobId);
        else if (state === 'gone') await this.release(endpointId, jobId, 'other');
      }
    } catch (error) {
      this.logger.warn(
        { webhookId: endpointId, reason: error instanceof Error ? error.message : String(error) },
        'could not wake webhook deliveries waiting for a slot; they look again on their own',
      );
      return;
    }
    if (running.length > 0 && triesLeft > 1)
      setTimeout(() => void this.wake(endpointId, running, triesLeft - 1), WAKE_RETRY_MS).unref();
  }
}
