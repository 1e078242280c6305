import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretBox } from '../common/secret-box';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface Entry {
  fingerprint: string;
  response?: StoredResponse;
  /** The response, encrypted: for responses that hold a secret (see SealedIdempotentResponse). */
  sealed?: string;
}

export type Reservation =
  | { kind: 'new' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in-progress' };

/** How long the first request may run before a concurrent one with the same key gives up waiting for it. */
const WAIT_FOR_FIRST_MS = 10_000;
const POLL_MS = 25;
/** How long a first request may hold its key without finishing (a crashed api process frees it after this). */
const PENDING_TTL_MS = 60_000;

/**
 * Idempotency keys in Redis, per service: the first request with a key reserves it (SET NX), runs, and
 * stores its response for IDEMPOTENCY_TTL_HOURS; a request with the same key and the same body gets that
 * response again; one with another body is refused. Requests that arrive while the first still runs wait
 * for its response, so many concurrent requests with one key make exactly one email.
 */
@Injectable()
export class IdempotencyStore {
  private readonly ttlMs: number;
  private readonly box: SecretBox;

  constructor(
    private readonly redis: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.ttlMs = config.email.idempotencyTtlHours * 3_600_000;
    this.box = new SecretBox(config.webhooks.secretsKey);
  }

  async reserve(service: string, keyHash: string, fingerprint: string): Promise<Reservation> {
    const key = this.keys.idempotency(service, keyHash);
    const pending = JSON.stringify({ fingerprint } satisfies Entry);
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (;;) {
      if ((await this.redis.client.set(key, pending, 'PX', PENDING_TTL_MS, 'NX')) === 'OK')
        return { kind: 'new' };
      const value = await this.redis.client.get(key);
      if (value === null) continue; // the first request failed and freed the key: try to take it
      const entry = JSON.parse(value) as Entry;
      if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (entry.response) return { kind: 'replay', response: entry.response };
      if (entry.sealed)
        return { kind: 'replay', response: JSON.parse(this.box.open(entry.sealed)) as StoredResponse };
      if (Date.now() > deadline) return { kind: 'in-progress' };
      await sleep(POLL_MS);
    }
  }

  async complete(
    service: string,
    keyHash: string,
    fingerprint: string,
    response: StoredResponse,
    options: { seal?: boolean } = {},
  ): Promise<void> {
    const entry: Entry = options.seal
      ? { fingerprint, sealed: this.box.seal(JSON.stringify(response)) }
      : { fingerprint, response };
    await this.redis.client.set(
      this.keys.idempotency(service, keyHash),
      JSON.stringify(entry),
      'PX',
      this.ttlMs,
    );
  }

  /** Frees a key whose first request failed, so that the caller may try again with it. */
  async release(service: string, keyHash: string): Promise<void> {
    await this.redis.client.del(this.keys.idempotency(service, keyHash));
  }
}
