import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { AuditEventName } from '../events/email-events';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';

export interface AuditEntry {
  at: string;
  event: AuditEventName;
  service: string;
  emailId: string;
  requestId: string | null;
  detail: Record<string, unknown>;
}

const DAY_MS = 86_400_000;
/**
 * How much later than its `at` an entry may reach its stream: the writer's batching (20 ms) and the clock
 * difference between the writing host and Redis, with room to spare.
 */
const RECORDING_SLACK_MS = 2000;

/**
 * Appends audit entries everywhere they are read from: each email's own list (expiring with the retention),
 * its service's stream and the stream of all (each trimmed to the retention by MINID as it is written). Redis
 * itself enforces the retention: no job needs to run. Trimming is exact (no `~`): approximate trimming drops
 * only whole stream nodes, which would keep old entries past the retention; exact trimming costs only the
 * few entries that just expired.
 * KEYS[1] stream of all, then per entry i: KEYS[2i] the email's list, KEYS[2i+1] the service's stream.
 * ARGV[1] retention ms, ARGV[2] the oldest stream id to keep, then ARGV[2+i] entry i as JSON.
 */
const APPEND_SCRIPT = `
for i = 1, (#KEYS - 1) / 2 do
  local entry = ARGV[2 + i]
  redis.call('RPUSH', KEYS[2 * i], entry)
  redis.call('PEXPIRE', KEYS[2 * i], ARGV[1])
  redis.call('XADD', KEYS[2 * i + 1], 'MINID', ARGV[2], '*', 'e', entry)
  redis.call('XADD', KEYS[1], 'MINID', ARGV[2], '*', 'e', entry)
end
return (#KEYS - 1) / 2
`;

interface ScriptedRedis extends Redis {
  freefaceAppendAudit(...keysAndArgs: (string | number)[]): Promise<number>;
}

export interface AuditQuery {
  service?: string;
  event?: AuditEventName;
  fromMs?: number;
  toMs?: number;
  limit: number;
  /** The stream id of the last entry of the previous page. */
  after?: string;
}

/** The audit trail in Redis: per email (oldest first) and per service or all (newest first, by time). */
@Injectable()
export class AuditRepository {
  private readonly redis: ScriptedRedis;
  private readonly retentionMs: number;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.retentionMs = config.email.auditRetentionDays * DAY_MS;
    if (!this.redis.freefaceAppendAudit) {
      this.redis.defineCommand('freefaceAppendAudit', { lua: APPEND_SCRIPT });
    }
  }

  /** Appends entries in one script call, in their order. */
  append(entries: readonly AuditEntry[], now: number): Promise<number> {
    const keys = [this.keys.auditStream()];
    for (const entry of entries)
      keys.push(this.keys.auditOfEmail(entry.emailId), this.keys.auditStream(entry.service));
    const args = [
      this.retentionMs,
      `${now - this.retentionMs}-0`,
      ...entries.map((entry) => JSON.stringify(entry)),
    ];
    return this.redis.freefaceAppendAudit(keys.length, ...keys, ...args);
  }

  /** Every event of one email, oldest first (by time, then by the order written). */
  async ofEmail(emailId: string): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(this.keys.auditOfEmail(emailId), 0, -1);
    return raw
      .map((value, index) => ({ entry: JSON.parse(value) as AuditEntry, index }))
      .sort((a, b) => a.entry.at.localeCompare(b.entry.at) || a.index - b.index)
      .map(({ entry }) => entry);
  }

  /** A page of the trail, newest first; the page's last stream id is the next cursor. */
  async query(query: AuditQuery): Promise<{ entries: AuditEntry[]; lastId: string | undefined }> {
    const stream = this.keys.auditStream(query.service);
    const entries: AuditEntry[] = [];
    // Stream ids are the time an entry was recorded, a little after its `at`: read a slack wider, and
    // filter on `at` itself, so that from/to are exact.
    let end = query.after
      ? `(${query.after}`
      : query.toMs !== undefined
        ? `${query.toMs + RECORDING_SLACK_MS}-99999999`
        : '+';
    const start = query.fromMs !== undefined ? `${query.fromMs}-0` : '-';
    const inRange = (at: number) =>
      (query.fromMs === undefined || at >= query.fromMs) && (query.toMs === undefined || at <= query.toMs);
    let lastId: string | undefined;
    const batch = Math.max(100, query.limit * 2);
    while (entries.length < query.limit) {
      const rows = await this.redis.xrevrange(stream, end, start, 'COUNT', batch);
      for (const [id, fields] of rows) {
        const entry = JSON.parse(fields[1] ?? '{}') as AuditEntry;
        lastId = id;
        if ((!query.event || entry.event === query.event) && inRange(Date.parse(entry.at)))
          entries.push(entry);
        if (entries.length === query.limit) break;
      }
      if (rows.length < batch) break;
      end = `(${lastId}`;
    }
    return { entries, lastId };
  }
}
