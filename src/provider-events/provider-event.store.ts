import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import type { EmailStatus } from '../common/email-status';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptCommand } from '../redis/scripts';
import type { EventProvider, ProviderEvent } from './provider-event';

const DAY_MS = 86_400_000;
/** How long an applied event's id is remembered: providers retry a callback for hours, at most a few days. */
const EVENT_ID_TTL_MS = 3 * DAY_MS;

type ApplyKeys = [email: string, eventId: string];
type ApplyArgs = [status: string, now: number, ttlMs: number];
type ApplyReply = null | 'duplicate' | [EmailStatus, 0 | 1, string];
const APPLY = loadScript<ApplyKeys, ApplyArgs, ApplyReply>(__dirname, 'apply-provider-event.lua');

/** What applying an event did to its email. */
export type AppliedEvent =
  | { kind: 'unknown-email' }
  | { kind: 'duplicate' }
  | { kind: 'applied'; previousStatus: EmailStatus; statusChanged: boolean; service: string };

/**
 * What Redis keeps of providers' events: the ids of those already applied (so that a replayed callback
 * changes nothing), each for a few days, and the way from a provider's id of a message back to our email,
 * which delivery keeps for the providers whose events may name only their own id (mark-sent.lua).
 */
@Injectable()
export class ProviderEventStore {
  private readonly redis: RedisClient;
  private readonly applyScript: ScriptCommand<ApplyKeys, ApplyArgs, ApplyReply>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
  ) {
    this.redis = connections.client;
    this.applyScript = scriptCommand(this.redis, APPLY);
  }

  /** Applies an event to its email's status, once (see apply-provider-event.lua). */
  async apply(event: ProviderEvent, now: number): Promise<AppliedEvent> {
    const reply = await this.applyScript(
      [this.keys.email(event.emailId), this.keys.providerEvent(event.emailId, event.provider, event.eventId)],
      [event.kind, now, EVENT_ID_TTL_MS],
    );
    if (reply === null) return { kind: 'unknown-email' };
    if (reply === 'duplicate') return { kind: 'duplicate' };
    const [previousStatus, changed, service] = reply;
    return { kind: 'applied', previousStatus, statusChanged: changed === 1, service };
  }

  /**
   * Our email's id under a provider's id of its message, where delivery kept one: it is in the partition of
   * the email, which the provider's id does not tell, so every partition is asked at once.
   */
  async emailIdOfProviderMessage(provider: EventProvider, messageId: string): Promise<string | undefined> {
    const found = await Promise.all(
      this.keys
        .partitionNumbers()
        .map((partition) => this.redis.get(this.keys.providerMessage(provider, messageId, partition))),
    );
    return found.find((id) => id !== null) ?? undefined;
  }
}
