import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';

type FailureArgs = [threshold: number, cooldownMs: number];
const RECORD_FAILURE = loadScript<[circuit: string], FailureArgs, number>(
  __dirname,
  'record-provider-failure.lua',
);
/** The reply of provider-states.lua: Redis's time, then four values per provider. */
type StatesReply = [number, ...(string | null)[]];
const STATES = loadScript<string[], number[], StatesReply>(__dirname, 'provider-states.lua');

/** A provider's circuit breaker and token bucket as the queue figures show them. */
export interface ProviderState {
  circuit: {
    state: 'closed' | 'open' | 'half-open';
    consecutiveFailures: number;
    openUntil: string | null;
    timesOpened: number;
  };
  /** The tokens in its bucket now, when it has a rate limit. */
  tokens?: number;
}

/**
 * Each provider's circuit breaker (transient failures in a row, and the time it stays open until) and token
 * bucket (PROVIDER_RATE_LIMITS), in Redis so that every worker shares them. The claim (claim-for-delivery.lua)
 * reads and updates both as it chooses a provider, and a send's outcome closes the circuit (mark-sent.lua,
 * mark-failed.lua, through includes/close-circuit.lua); the failures that open it are counted here.
 */
@Injectable()
export class ProviderStateStore {
  private readonly recordFailureScript: ScriptCommand<[circuit: string], FailureArgs, number>;
  private readonly statesScript: ScriptCommand<string[], number[], StatesReply>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
  ) {
    this.recordFailureScript = scriptCommand(connections.client, RECORD_FAILURE);
    this.statesScript = scriptCommand(connections.client, STATES);
  }

  /** Counts a transient failure against the provider's circuit; returns the time it is open until, or 0. */
  recordFailure(provider: ProviderName): Promise<number> {
    const { failureThreshold, cooldownMs } = this.config.providers.circuit;
    return this.recordFailureScript([this.keys.circuit(provider)], [failureThreshold, cooldownMs]);
  }

  /** The state of each provider's circuit and bucket, in one script call. */
  async states(providers: readonly ProviderName[]): Promise<Map<ProviderName, ProviderState>> {
    const { rateLimits } = this.config.providers;
    const keys = providers.flatMap((name) => [this.keys.circuit(name), this.keys.rateBucket(name)]);
    const args = providers.flatMap((name) => [
      rateLimits[name]?.tokensPerMs ?? 0,
      rateLimits[name]?.burst ?? 1,
    ]);
    const [now, ...values] = await this.statesScript(keys, args);
    const states = new Map<ProviderName, ProviderState>();
    providers.forEach((name, i) => {
      const [failures, openUntil, opened, tokens] = values.slice(4 * i, 4 * i + 4);
      const openUntilMs = openUntil ? Number(openUntil) : 0;
      states.set(name, {
        circuit: {
          state: openUntilMs > now ? 'open' : openUntilMs > 0 ? 'half-open' : 'closed',
          consecutiveFailures: Number(failures ?? 0),
          openUntil: openUntilMs > now ? new Date(openUntilMs).toISOString() : null,
          timesOpened: Number(opened ?? 0),
        },
        ...(tokens ? { tokens: Number(tokens) } : {}),
      });
    });
    return states;
  }
}
