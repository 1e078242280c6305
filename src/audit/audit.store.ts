import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { MAX_SCANNED_PER_PAGE } from '../common/paging';
import { AppConfig } from '../config/app-config';
import { AUDIT_EVENTS, type AuditEventName } from '../events/email-events';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptArg, type ScriptCommand } from '../redis/scripts';
import { mergeNewestFirst, type StreamPosition } from './stream-merge';

/**
 * Audit events about a webhook endpoint rather than an email: written to the endpoint's service's trail
 * with no emailId; `detail.webhookId` names the endpoint.
 */
export const WEBHOOK_AUDIT_EVENTS = ['webhook_paused', 'webhook_resumed'] as const;
export type WebhookAuditEventName = (typeof WEBHOOK_AUDIT_EVENTS)[number];
/** Every event the trail holds, for filtering it. */
export const AUDIT_TRAIL_EVENTS = [...AUDIT_EVENTS, ...WEBHOOK_AUDIT_EVENTS] as const;

export interface AuditEntry {
  at: string;
  event: AuditEventName | WebhookAuditEventName;
  service: string;
  /** null for an event about no email (a webhook endpoint's). */
  emailId: string | null;
  requestId: string | null;
  detail: Record<string, unknown>;
}

const DAY_MS = 86_400_000;
/**
 * How much later than its `at` an entry may reach its stream: the writer's batching (20 ms) and the clock
 * difference between the writing host and Redis, with room to spare.
 */
const RECORDING_SLACK_MS = 2000;

const APPEND = loadScript<string[], ScriptArg[], number>(__dirname, 'append-audit.lua');

export interface AuditQuery {
  service?: string;
  event?: AuditEntry['event'];
  fromMs?: number;
  toMs?: number;
  limit: number;
  /** Where the previous page ended (its nextCursor). */
  after?: string;
}

/**
 * The audit trail in Redis: per email (oldest first) and per service or all (newest first, by time). Each
 * entry is stored once; reading all services merges their streams.
 */
@Injectable()
export class AuditStore {
  private readonly redis: RedisClient;
  private readonly appendScript: ScriptCommand<string[], ScriptArg[], number>;
  private readonly retentionMs: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.auditRetentionDays * DAY_MS;
    this.appendScript = scriptCommand(this.redis, APPEND);
  }

  /**
   * Appends entries, in their order: one script call for each slot they go to (with several partitions, an
   * email's entries go to its partition, beside its record), and the services named in the set of services.
   */
  async append(entries: readonly AuditEntry[], now: number): Promise<number> {
    const retention: ScriptArg[] = [this.retentionMs, `${now - this.retentionMs}-0`];
    if (this.keys.partitions === 1) return this.appendScript(...this.appendCall(entries, retention, true));
    const bySlot = new Map<number | undefined, AuditEntry[]>();
    for (const entry of entries) {
      const partition = entry.emailId ? this.keys.partitionOf(entry.emailId) : undefined;
      bySlot.set(partition, [...(bySlot.get(partition) ?? []), entry]);
    }
    const services = [...new Set(entries.map(({ service }) => service))];
    const [counts] = await Promise.all([
      Promise.all(
        [...bySlot.values()].map((ofSlot) => this.appendScript(...this.appendCall(ofSlot, retention, false))),
      ),
      services.length > 0 ? this.redis.sadd(this.keys.auditServices(), ...services) : undefined,
    ]);
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** The keys and arguments of append-audit.lua for entries of one slot. */
  private appendCall(
    entries: readonly AuditEntry[],
    retention: readonly ScriptArg[],
    withServices: boolean,
  ): [string[], ScriptArg[]] {
    const keys = withServices ? [this.keys.auditServices()] : [];
    const args: ScriptArg[] = [...retention, withServices ? '1' : '0'];
    for (const entry of entries) {
      keys.push(this.streamOf(entry.service, entry.emailId));
      if (entry.emailId) keys.push(this.keys.auditOfEmail(entry.emailId));
      args.push(entry.service, JSON.stringify(entry), entry.emailId ? '1' : '0');
    }
    return [keys, args];
  }

  /** The stream an entry goes to: its email's partition's, or the shared one for an entry about no email. */
  private streamOf(service: string, emailId: string | null): string {
    return emailId
      ? this.keys.auditStream(service, this.keys.partitionOf(emailId))
      : this.keys.auditStream(service);
  }

  /**
   * Every stream of one service, each once, named for the merge's order and the cursor: the shared one by the
   * service's name, a partition's as `<service>@p<n>` (with one partition they are the same stream).
   */
  private streamsOf(service: string): { source: string; key: string }[] {
    if (this.keys.partitions === 1) return [{ source: service, key: this.keys.auditStream(service) }];
    return [
      { source: service, key: this.keys.auditStream(service) },
      ...this.keys.partitionNumbers().map((partition) => ({
        source: `${service}@p${partition}`,
        key: this.keys.auditStream(service, partition),
      })),
    ];
  }

  /** Every event of one email, oldest first (by time, then by the order written). */
  async ofEmail(emailId: string): Promise<AuditEntry[]> {
    const pointers = await this.redis.lrange(this.keys.auditOfEmail(emailId), 0, -1);
    if (pointers.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const pointer of pointers) {
      const [service = '', id = ''] = pointer.split(' ');
      pipeline.xrange(this.streamOf(service, emailId), id, id);
    }
    const replies = (await pipeline.exec()) ?? [];
    const entries = replies.flatMap(([, rows]) => {
      const fields = (rows as [string, string[]][] | undefined)?.[0]?.[1];
      // Trimmed from its stream by the retention: gone, as the list soon will be.
      return fields ? [JSON.parse(fields[1] ?? '{}') as AuditEntry] : [];
    });
    return entries
      .map((entry, index) => ({ entry, index }))
      .sort((a, b) => a.entry.at.localeCompare(b.entry.at) || a.index - b.index)
      .map(({ entry }) => entry);
  }

  /**
   * A page of the trail, newest first, of one service or of all. The cursor is the position of the page's
   * last entry: its stream id, and for all services also its service (entries of different services can
   * share a stream id). A page examines at most MAX_SCANNED_PER_PAGE entries: when the event or time filter
   * matches few, it ends there with what it found (maybe nothing) and the cursor of the last one examined.
   */
  async query(query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | undefined }> {
    const services = query.service
      ? [query.service]
      : (await this.redis.smembers(this.keys.auditServices())).sort();
    const after = query.after ? parseCursor(query.after) : undefined;
    const inRange = (at: number) =>
      (query.fromMs === undefined || at >= query.fromMs) && (query.toMs === undefined || at <= query.toMs);
    // Stream ids are the time an entry was recorded, a little after its `at`: read a slack wider, and
    // filter on `at` itself, so that from/to are exact.
    const start = query.fromMs !== undefined ? `${query.fromMs}-0` : '-';
    const end = (source: string) => {
      if (after) {
        // Entries at the cursor's own id come after it only in the streams ordered after its stream.
        const inclusive = after.source !== undefined && source < after.source;
        return inclusive ? after.id : `(${after.id}`;
      }
      return query.toMs !== undefined ? `${query.toMs + RECORDING_SLACK_MS}-99999999` : '+';
    };
    const batch = Math.max(100, query.limit * 2);
    const entries: AuditEntry[] = [];
    // Rows examined: a filter that matches rarely ends the page at the bound, with a cursor where it stopped.
    let scanned = 0;
    let last: StreamPosition | undefined;
    const streams = services.flatMap((service) => this.streamsOf(service));
    const sources = streams.map(({ source, key }) => {
      let from = end(source);
      let exhausted = false;
      return {
        service: source,
        next: async () => {
          if (exhausted) return [];
          // Never more than the page may still examine (at least one: the page stops at the bound first).
          const count = Math.min(batch, MAX_SCANNED_PER_PAGE - scanned);
          const rows = await this.redis.xrevrange(key, from, start, 'COUNT', count);
          exhausted = rows.length < count;
          if (rows.length > 0) from = `(${rows[rows.length - 1]![0]}`;
          return rows.map(([id, fields]) => ({ id, value: fields[1] ?? '{}' }));
        },
      };
    });
    let endedEarly = false;
    for await (const row of mergeNewestFirst(sources)) {
      const entry = JSON.parse(row.value) as AuditEntry;
      scanned += 1;
      last = row;
      if ((!query.event || entry.event === query.event) && inRange(Date.parse(entry.at))) entries.push(entry);
      if (entries.length === query.limit || scanned >= MAX_SCANNED_PER_PAGE) {
        endedEarly = true;
        break;
      }
    }
    // The merge names a row's stream in `service` (see streamsOf).
    const nextCursor =
      endedEarly && last ? (streams.length === 1 ? last.id : `${last.id}~${last.service}`) : undefined;
    return { entries, nextCursor };
  }
}

/** `<stream id>` (one stream read) or `<stream id>~<stream>` (several: services, or a service's partitions). */
function parseCursor(cursor: string): { id: string; source?: string } {
  const [id = '', source] = cursor.split('~');
  return source === undefined ? { id } : { id, source };
}
