import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

export interface ServiceFigures {
  calls: number;
  emailsAccepted: number;
  emailsSent: number;
  emailsFailed: number;
  emailsDead: number;
  endpoints: Record<string, number>;
  lastCallAt: string | null;
}

/** The per-service figures, summed over every replica: one's own, or everyone's for an admin. */
@Injectable()
export class ServiceMetricsService {
  constructor(
    private readonly redis: RedisConnections,
    private readonly keys: RedisKeys,
  ) {}

  async figures(caller: Caller): Promise<Record<string, ServiceFigures>> {
    const services = caller.isAdmin
      ? (await this.redis.client.smembers(this.keys.serviceMetricsIndex())).sort()
      : [caller.service];
    const pipeline = this.redis.client.pipeline();
    services.forEach((service) => pipeline.hgetall(this.keys.serviceMetrics(service)));
    const results = services.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    return Object.fromEntries(
      services.map((service, i) => [service, toFigures((results[i]?.[1] ?? {}) as Record<string, string>)]),
    );
  }
}

function toFigures(hash: Record<string, string>): ServiceFigures {
  const number = (field: string) => Number(hash[field] ?? 0);
  const endpoints = Object.fromEntries(
    Object.entries(hash)
      .filter(([field]) => field.startsWith('endpoint:'))
      .map(([field, value]) => [field.slice('endpoint:'.length), Number(value)]),
  );
  return {
    calls: number('calls'),
    emailsAccepted: number('emailsAccepted'),
    emailsSent: number('emailsSent'),
    emailsFailed: number('emailsFailed'),
    emailsDead: number('emailsDead'),
    endpoints,
    lastCallAt: hash['lastCallAt'] ? new Date(Number(hash['lastCallAt'])).toISOString() : null,
  };
}
