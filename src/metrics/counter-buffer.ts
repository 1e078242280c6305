import type { ChainableCommander } from 'ioredis';
import type Redis from 'ioredis';

/**
 * Hash counters added up in memory and written to Redis in one pipeline per flush: a request or a send only
 * bumps a number in a Map, and every replica's increments add up in Redis (HINCRBY), so the figures are the
 * sum over all replicas. `max` fields keep the highest value written by any replica (e.g. a last-call time).
 */
export class CounterBuffer {
  private increments = new Map<string, Map<string, number>>();
  private maxima = new Map<string, Map<string, number>>();
  private readonly expiries = new Map<string, number>();

  add(key: string, field: string, by = 1, expireSeconds?: number): void {
    const fields = this.increments.get(key) ?? new Map<string, number>();
    fields.set(field, (fields.get(field) ?? 0) + by);
    this.increments.set(key, fields);
    if (expireSeconds !== undefined) this.expiries.set(key, expireSeconds);
  }

  max(key: string, field: string, value: number): void {
    const fields = this.maxima.get(key) ?? new Map<string, number>();
    fields.set(field, Math.max(fields.get(field) ?? 0, value));
    this.maxima.set(key, fields);
  }

  get isEmpty(): boolean {
    return this.increments.size === 0 && this.maxima.size === 0;
  }

  /** Writes what was added since the last flush. On failure the increments are kept for the next one. */
  async flush(
    redis: Redis,
    writeMax: (pipeline: ChainableCommander, key: string, field: string, value: number) => void,
  ): Promise<void> {
    if (this.isEmpty) return;
    const increments = this.increments;
    const maxima = this.maxima;
    this.increments = new Map();
    this.maxima = new Map();
    const pipeline = redis.pipeline();
    for (const [key, fields] of increments) {
      for (const [field, by] of fields) pipeline.hincrby(key, field, by);
      const expiry = this.expiries.get(key);
      if (expiry !== undefined) pipeline.expire(key, expiry);
    }
    for (const [key, fields] of maxima)
      for (const [field, value] of fields) writeMax(pipeline, key, field, value);
    try {
      const results = await pipeline.exec();
      const failure = results?.find(([error]) => error)?.[0];
      if (failure) throw failure;
    } catch (error) {
      // Put them back: nothing counted is lost while Redis is away.
      for (const [key, fields] of increments)
        for (const [field, by] of fields) this.add(key, field, by, this.expiries.get(key));
      for (const [key, fields] of maxima) for (const [field, value] of fields) this.max(key, field, value);
      throw error;
    }
  }
}
