import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { MAILGUN_SIGNATURE_MAX_AGE_MS } from './mailgun-events';

/**
 * How long a used token is remembered. A signature is accepted while its timestamp is within the window of
 * the receiving replica's clock, either side: from a window before the timestamp to a window after it, so
 * twice the window after it was first seen, plus a window's slack for replicas whose clocks disagree.
 */
export const MAILGUN_TOKEN_TTL_MS = 3 * MAILGUN_SIGNATURE_MAX_AGE_MS;

/**
 * The Mailgun callback tokens already used. Mailgun signs only `timestamp + token`, not the event data, so a
 * captured signature could carry any events until its timestamp is too old; Mailgun's own advice is to
 * refuse a token seen before. Each token is kept as a short digest (a fixed-length key, whatever the caller
 * sent), with an expiry that outlasts the signature's validity.
 */
@Injectable()
export class MailgunTokenStore {
  private readonly redis: RedisClient;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
  ) {
    this.redis = connections.client;
  }

  /** Records the token as used (one SET NX); false when it had been used before, by any replica. */
  async claim(token: string): Promise<boolean> {
    const digest = createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');
    const set = await this.redis.set(this.keys.mailgunToken(digest), '1', 'PX', MAILGUN_TOKEN_TTL_MS, 'NX');
    return set === 'OK';
  }
}
