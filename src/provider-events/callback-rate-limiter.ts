import { Injectable } from '@nestjs/common';
import type { RateLimit } from '../common/rate';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';

type TakeReply = [1] | [0, number, number];
type BucketArgs = [tokensPerMs: number, burst: number];
const TAKE_TOKEN = loadScript<[bucket: string], BucketArgs, TakeReply>(__dirname, 'take-callback-token.lua');

/** A callback let through, or refused: how long until a token is back, and how many refusals in a row. */
export type CallbackAnswer = { admitted: true } | { admitted: false; retryAfterMs: number; refusals: number };

/**
 * PROVIDER_CALLBACK_RATE_LIMIT: a token bucket per client address, in Redis so that every api replica shares
 * it (see take-callback-token.lua).
 */
@Injectable()
export class CallbackRateLimiter {
  private readonly takeToken: ScriptCommand<[bucket: string], BucketArgs, TakeReply>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
  ) {
    this.takeToken = scriptCommand(connections.client, TAKE_TOKEN);
  }

  /** Takes a token from `address`'s bucket of `limit`; throws when Redis does not answer. */
  async take(address: string, limit: RateLimit): Promise<CallbackAnswer> {
    const reply = await this.takeToken(
      [this.keys.callbackRateBucket(address)],
      [limit.tokensPerMs, limit.burst],
    );
    return reply[0] === 1
      ? { admitted: true }
      : { admitted: false, retryAfterMs: reply[1], refusals: reply[2] };
  }
}
