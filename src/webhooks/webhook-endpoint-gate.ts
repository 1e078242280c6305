import { Injectable } from '@nestjs/common';
import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { WebhookQueue } from '../queue/webhook-queue';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
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

/** Redis's clock in milliseconds, the same for every worker. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * Gives the free slots (`limit` minus those taken) to the jobs that have waited longest, for `leaseMs`;
 * returns their ids, for their jobs to be woken.
 */
const HAND_OUT = `
local function handOut(slots, line, limit, leaseUntil)
  local free = limit - redis.call('ZCARD', slots)
  if free <= 0 then return {} end
  local next = redis.call('ZRANGE', line, 0, free - 1)
  for _, job in ipairs(next) do
    redis.call('ZADD', slots, leaseUntil, job)
    redis.call('ZREM', line, job)
  end
  return next
end
`;

/**
 * A job asks for a slot. Paused: it gives up any slot it had and stays in line (`held`). Holding a slot
 * already (handed to it while it waited, or its own from a run that was cut short): it may send. Else it
 * takes its place in line (by its delivery's age, so a job that comes back keeps its place) and the free
 * slots go to the longest waiting, which may be itself. The health hash is made here if missing: it exists
 * exactly while the endpoint does (the caller just read the endpoint; deleting it forgets the hash).
 * KEYS[1] slots, KEYS[2] line, KEYS[3] health. ARGV[1] job id, ARGV[2] its place in line, ARGV[3] lease ms,
 * ARGV[4] limit. Returns {verdict, ids of the other jobs handed a slot...}.
 */
const ADMIT_SCRIPT = `${NOW}${HAND_OUT}
local job = ARGV[1]
redis.call('HSETNX', KEYS[3], 'timeouts', 0)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 1 then
  redis.call('ZREM', KEYS[1], job)
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], job)
  return {'held'}
end
local leaseUntil = now + tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], job) then
  redis.call('ZADD', KEYS[1], leaseUntil, job)
  redis.call('ZREM', KEYS[2], job)
  return {'admitted'}
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], job)
local verdict = 'waiting'
local others = {}
for _, given in ipairs(handOut(KEYS[1], KEYS[2], tonumber(ARGV[4]), leaseUntil)) do
  if given == job then verdict = 'admitted' else others[#others + 1] = given end
end
return {verdict, unpack(others)}
`;

/**
 * A job is done with the endpoint (after an attempt, or without one): it leaves its slot and the line. An
 * answer clears the count of timeouts; a timeout adds one, and the one that reaches the threshold pauses
 * the endpoint. Unless paused, the free slots go to the longest waiting. An endpoint deleted meanwhile (no
 * health hash) gets none back: an attempt that ends after the deletion leaves nothing behind.
 * KEYS[1] slots, KEYS[2] line, KEYS[3] health, KEYS[4] the set of paused endpoints. ARGV[1] job id,
 * ARGV[2] answered|timeout|other, ARGV[3] lease ms, ARGV[4] limit, ARGV[5] pause threshold, ARGV[6] the
 * reason to record, ARGV[7] the endpoint's id. Returns {when it paused the endpoint or 0, ids handed a slot...}.
 */
const RELEASE_SCRIPT = `${NOW}${HAND_OUT}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local pausedNow = 0
if redis.call('EXISTS', KEYS[3]) == 0 then return {pausedNow} end
if ARGV[2] == 'answered' then
  redis.call('HSET', KEYS[3], 'timeouts', 0)
elseif ARGV[2] == 'timeout' then
  local timeouts = redis.call('HINCRBY', KEYS[3], 'timeouts', 1)
  if timeouts >= tonumber(ARGV[5]) and redis.call('HSETNX', KEYS[3], 'pausedAt', now) == 1 then
    redis.call('HSET', KEYS[3], 'pausedReason', ARGV[6])
    redis.call('SADD', KEYS[4], ARGV[7])
    pausedNow = now
  end
end
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 1 then return {pausedNow} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {pausedNow, unpack(handOut(KEYS[1], KEYS[2], tonumber(ARGV[4]), now + tonumber(ARGV[3])))}
`;

/**
 * Resumes a paused endpoint: clears the pause and the count of timeouts, and hands the free slots to the
 * deliveries held longest. KEYS as RELEASE_SCRIPT's; ARGV[1] lease ms, ARGV[2] limit, ARGV[3] the
 * endpoint's id. Returns {0} when it was not paused, else {1, deliveries held, ids handed a slot...}.
 */
const RESUME_SCRIPT = `${NOW}${HAND_OUT}
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 0 then return {0} end
redis.call('HDEL', KEYS[3], 'pausedAt', 'pausedReason')
redis.call('HSET', KEYS[3], 'timeouts', 0)
redis.call('SREM', KEYS[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[2])
return {1, held, unpack(handOut(KEYS[1], KEYS[2], tonumber(ARGV[2]), now + tonumber(ARGV[1])))}
`;

interface ScriptedRedis extends Redis {
  freefaceWebhookAdmit(...keysAndArgs: (string | number)[]): Promise<string[]>;
  freefaceWebhookRelease(...keysAndArgs: (string | number)[]): Promise<(number | string)[]>;
  freefaceWebhookResume(...keysAndArgs: (string | number)[]): Promise<(number | string)[]>;
}

/** Counts the paused endpoints in a pipeline of figures (this file alone knows where they are kept). */
export function countPausedEndpoints(pipeline: ChainableCommander, keys: RedisKeys): ChainableCommander {
  return pipeline.scard(keys.pausedWebhookEndpoints());
}

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
  private readonly redis: ScriptedRedis;
  private readonly limit: number;
  private readonly pauseAfter: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly queue: WebhookQueue,
    private readonly logger: AppLogger,
    config: AppConfig,
  ) {
    this.logger.setContext('webhooks');
    this.redis = connections.client as ScriptedRedis;
    this.limit = config.webhooks.endpointConcurrency;
    this.pauseAfter = config.webhooks.pauseAfterTimeouts;
    if (!this.redis.freefaceWebhookAdmit) {
      this.redis.defineCommand('freefaceWebhookAdmit', { numberOfKeys: 3, lua: ADMIT_SCRIPT });
      this.redis.defineCommand('freefaceWebhookRelease', { numberOfKeys: 4, lua: RELEASE_SCRIPT });
      this.redis.defineCommand('freefaceWebhookResume', { numberOfKeys: 4, lua: RESUME_SCRIPT });
    }
  }

  /** Asks for a slot for a job; `place` orders the line (its delivery's creation time: oldest first). */
  async admit(endpointId: string, jobId: string, place: number): Promise<Admission> {
    const [verdict, ...woken] = await this.redis.freefaceWebhookAdmit(
      ...this.endpointKeys(endpointId).slice(0, 3),
      jobId,
      place,
      SLOT_LEASE_MS,
      this.limit,
    );
    await this.wake(endpointId, woken);
    return verdict as Admission;
  }

  /**
   * Gives a job's slot (and place in line) back after an attempt of the given kind, or without one
   * (`other`). Returns when this attempt paused the endpoint (Redis time, ms), else undefined.
   */
  async release(endpointId: string, jobId: string, kind: AttemptKind): Promise<number | undefined> {
    const [pausedAt, ...woken] = await this.redis.freefaceWebhookRelease(
      ...this.endpointKeys(endpointId),
      jobId,
      kind,
      SLOT_LEASE_MS,
      this.limit,
      this.pauseAfter,
      `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s to ${this.pauseAfter} attempts in a row`,
      endpointId,
    );
    await this.wake(endpointId, woken.map(String));
    return Number(pausedAt) > 0 ? Number(pausedAt) : undefined;
  }

  /**
   * Resumes a paused endpoint: its held deliveries are sent again, oldest first, as slots allow. Returns how
   * many were held, or undefined when it was not paused.
   */
  async resume(endpointId: string): Promise<{ held: number } | undefined> {
    const [resumed, held, ...woken] = await this.redis.freefaceWebhookResume(
      ...this.endpointKeys(endpointId),
      SLOT_LEASE_MS,
      this.limit,
      endpointId,
    );
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

  /** Drops everything kept for a deleted endpoint. */
  async forget(endpointId: string): Promise<void> {
    await this.redis
      .multi()
      .del(...this.endpointKeys(endpointId).slice(0, 3))
      .srem(this.keys.pausedWebhookEndpoints(), endpointId)
      .exec();
  }

  private endpointKeys(endpointId: string): [string, string, string, string] {
    return [
      this.keys.webhookSlots(endpointId),
      this.keys.webhookLine(endpointId),
      this.keys.webhookHealth(endpointId),
      this.keys.pausedWebhookEndpoints(),
    ];
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
