import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { SortedSetPager, type Page, type SortedSetEntry } from '../redis/sorted-set-page';
import type { SuppressedRecipient } from '../suppressions/suppression.store';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import type { EmailStatus } from './email-status';
import { messageJson } from './stored-bytes';

const DAY_MS = 86_400_000;
/** Emails written per MULTI when many are accepted at once: large enough to be cheap, small enough not to stall Redis. */
const WRITE_CHUNK = 500;

/** Fields returned by status queries; the (possibly large) message is never read back here. */
const RECORD_FIELDS = [
  'status',
  'priority',
  'service',
  'requestId',
  'createdAt',
  'sendAt',
  'attempts',
  'maxAttempts',
  'pinnedProvider',
  'provider',
  'providerMessageId',
  'lastError',
  'sentAt',
  'template',
  'to',
  'subject',
  'tags',
  'metadata',
  'groupId',
  'cancelledAt',
  'suppressed',
] as const;
type RecordFields = Record<(typeof RECORD_FIELDS)[number], string | null>;

/**
 * Cancels an email if it has not started going out: only from `scheduled`, `queued` or `retrying`, atomically
 * against a worker's claim (which moves it to `sending` in a script of its own), and drops its message.
 * Returns the status it had.
 * KEYS[1] email, KEYS[2] scheduled set, KEYS[3] the email's message, KEYS[4] unfinished emails. ARGV[1] id,
 * ARGV[2] now (ms).
 */
const CANCEL_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'scheduled' or status == 'queued' or status == 'retrying' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'reservedProvider', 'reservedUntil', 'message')
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
return status
`;

/**
 * Writes new emails: for each, its record (HSET, with an expiry), its message (SET, same expiry), its entries
 * in its service's index and the index of all, the scheduled set when it has a sendAt, and the unfinished
 * emails, scored by when it is due (the reconciler looks at it if it has not gone out a while later). One
 * script call carries a whole chunk, which costs a fraction of the ioredis work of five commands per email
 * (measured: 10,000 emails in ~0.1 s instead of ~0.9 s of command building).
 * The message has a key of its own because one long value turns a whole hash into a hash table, at about 60
 * bytes per field: apart, the record stays a compact listpack (docs/BENCHMARKS.md, "Footprint").
 * Index entries older than the retention (their records have expired) are trimmed on the way.
 * KEYS[1] index of all, KEYS[2] scheduled set, then per email i: KEYS[3i] record, KEYS[3i+1] message,
 * KEYS[3i+2] service index; last, the unfinished emails.
 * ARGV[1] the retention cut-off (ms); then per email: createdAt, ttlMs, sendAt ('' for none), id, message,
 * field count n, then n field/value pairs.
 */
const WRITE_SCRIPT = `
local cutoff = '(' .. ARGV[1]
local trimmed = {}
local a = 2
local count = (#KEYS - 3) / 3
for i = 1, count do
  local key, messageKey, index = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local createdAt, ttlMs, sendAt, id = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local n = tonumber(ARGV[a + 5])
  redis.call('HSET', key, unpack(ARGV, a + 6, a + 5 + 2 * n))
  redis.call('PEXPIRE', key, ttlMs)
  redis.call('SET', messageKey, ARGV[a + 4], 'PX', ttlMs)
  redis.call('ZADD', index, createdAt, id)
  redis.call('ZADD', KEYS[1], createdAt, id)
  if sendAt ~= '' then redis.call('ZADD', KEYS[2], sendAt, id) end
  redis.call('ZADD', KEYS[#KEYS], sendAt ~= '' and sendAt or createdAt, id)
  if not trimmed[index] then
    redis.call('ZREMRANGEBYSCORE', index, '-inf', cutoff)
    trimmed[index] = true
  end
  a = a + 6 + 2 * n
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
return count
`;

/**
 * Drops one group email's claim on the group's shared data (its bit); the last claim dropped drops the data.
 * Releasing a member twice, or after the data has expired, changes nothing (and creates no key).
 * KEYS[1] shared data, KEYS[2] members bitmap. ARGV[1] the member's place. Returns 1 when it held a claim.
 */
const RELEASE_SHARED_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local held = redis.call('SETBIT', KEYS[2], ARGV[1], 0)
if held == 1 and redis.call('BITCOUNT', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return held
`;

/**
 * Makes every key given live at least ARGV[1] ms from now; never shortens a lifetime, never revives a key.
 */
const EXTEND_SCRIPT = `
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', key, ARGV[1]) end
end
`;

interface ScriptedRedis extends Redis {
  freefaceCancelEmail(
    emailKey: string,
    scheduledKey: string,
    messageKey: string,
    unfinishedKey: string,
    id: string,
    now: number,
  ): Promise<EmailStatus | null>;
  freefaceWriteEmails(...keysAndArgs: (string | number)[]): Promise<number>;
  freefaceReleaseShared(dataKey: string, membersKey: string, member: number): Promise<number>;
  freefaceExtend(...keysAndArgs: (string | number)[]): Promise<null>;
}

const optional = (value: string | null | undefined) => (value ? value : undefined);
const optionalNumber = (value: string | null | undefined) => (value ? Number(value) : undefined);

/**
 * Email records in Redis: one hash per email holding its status fields, its message under a key of its own
 * until it is sent; plus, for listing, one sorted set of ids by creation time per service and one for all. Records
 * expire EMAIL_RETENTION_DAYS after their last change and index entries older than that are trimmed on each
 * write, so Redis stays bounded without a cleanup job.
 * A group notification's shared data is kept once for the group, with a bitmap of the emails that may still
 * need it: it goes when the last of them is sent, or expires no sooner than any of their messages.
 */
@Injectable()
export class EmailRepository {
  private readonly redis: ScriptedRedis;
  private readonly retentionMs: number;
  private readonly pager: SortedSetPager;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    this.pager = new SortedSetPager(this.redis);
    if (!this.redis.freefaceCancelEmail) {
      this.redis.defineCommand('freefaceCancelEmail', { numberOfKeys: 4, lua: CANCEL_SCRIPT });
      this.redis.defineCommand('freefaceWriteEmails', { lua: WRITE_SCRIPT });
      this.redis.defineCommand('freefaceReleaseShared', { numberOfKeys: 2, lua: RELEASE_SHARED_SCRIPT });
      this.redis.defineCommand('freefaceExtend', { lua: EXTEND_SCRIPT });
    }
  }

  /**
   * Writes new emails (one, a batch or a group) in script calls of WRITE_CHUNK emails, all sent at once
   * without waiting for each other: one script call for one email, about one round trip whatever the count.
   * A group's shared data goes first, on the same connection, so Redis has it before any of its emails (and
   * their jobs).
   */
  async createMany(emails: readonly NewEmail[]): Promise<void> {
    const writes: Promise<void>[] = [];
    const shared = new Set<SharedGroupData>();
    for (const email of emails) {
      if (!email.shared || shared.has(email.shared)) continue;
      shared.add(email.shared);
      writes.push(this.writeShared(email.shared, this.ttlMs(email.record)));
    }
    for (let start = 0; start < emails.length; start += WRITE_CHUNK)
      writes.push(this.write(emails.slice(start, start + WRITE_CHUNK)));
    await Promise.all(writes);
  }

  /**
   * Removes what `createMany` wrote for emails whose jobs could not be queued (nothing else refers to them yet):
   * records, messages, every index entry, and their group's shared data.
   */
  async discard(records: readonly EmailRecord[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    const groups = new Set<string>();
    for (const record of records) {
      pipeline.del(this.keys.email(record.id), this.keys.emailMessage(record.id));
      pipeline.zrem(this.keys.emailsOf(record.service), record.id);
      pipeline.zrem(this.keys.allEmails(), record.id);
      pipeline.zrem(this.keys.scheduled(), record.id);
      pipeline.zrem(this.keys.unfinishedEmails(), record.id);
      if (record.groupId) groups.add(record.groupId);
    }
    for (const groupId of groups)
      pipeline.del(this.keys.groupData(groupId), this.keys.groupDataMembers(groupId));
    await pipeline.exec().then(throwIfAnyFailed);
  }

  /** A group's shared data, or undefined when it is gone (expired, or every email of the group was sent). */
  async sharedData(groupId: string): Promise<Record<string, unknown> | undefined> {
    const json = await this.redis.get(this.keys.groupData(groupId));
    return json === null ? undefined : (JSON.parse(json) as Record<string, unknown>);
  }

  /**
   * Keeps a group's shared data for the retention from now, as a failed attempt keeps its email's message
   * (for a retry), so that the data never goes before a message that needs it.
   */
  async keepSharedData(groupId: string): Promise<void> {
    await this.redis.freefaceExtend(
      2,
      this.keys.groupData(groupId),
      this.keys.groupDataMembers(groupId),
      this.retentionMs,
    );
  }

  /** Tells the group that one of its emails no longer needs the shared data (sent, or suppressed). */
  async releaseSharedData(groupId: string, member: number): Promise<void> {
    await this.redis.freefaceReleaseShared(
      this.keys.groupData(groupId),
      this.keys.groupDataMembers(groupId),
      member,
    );
  }

  async find(id: string): Promise<EmailRecord | undefined> {
    const values = await this.redis.hmget(this.keys.email(id), ...RECORD_FIELDS);
    if (values[0] === null) return undefined;
    return parseRecord(id, values);
  }

  /**
   * A page of emails newest first, of one service (or all), after the position `after` (exclusive),
   * optionally only those with `status` (a bounded scan: see SortedSetPager).
   */
  page(
    query: { service?: string; status?: EmailStatus; limit: number },
    after?: SortedSetEntry,
  ): Promise<Page<EmailRecord>> {
    const { status } = query;
    return this.pager.page({
      key: query.service ? this.keys.emailsOf(query.service) : this.keys.allEmails(),
      limit: query.limit,
      ...(after ? { after } : {}),
      load: async (entries) => {
        const pipeline = this.redis.pipeline();
        for (const { id } of entries) pipeline.hmget(this.keys.email(id), ...RECORD_FIELDS);
        const replies = (await pipeline.exec()) ?? [];
        return entries.map(({ id }, i) => {
          const values = replies[i]?.[1] as (string | null)[] | undefined;
          return values && values[0] !== null ? parseRecord(id, values) : undefined;
        });
      },
      ...(status ? { matches: (record: EmailRecord) => record.status === status } : {}),
    });
  }

  /** Every recipient of an email (to, cc and bcc, as given), or undefined when there is no such email. */
  async recipientsOf(id: string): Promise<string[] | undefined> {
    const [to, cc, bcc] = await this.redis.hmget(this.keys.email(id), 'to', 'cc', 'bcc');
    if (to === null) return undefined;
    return [to, cc, bcc].flatMap((list) => (list ? (JSON.parse(list) as string[]) : []));
  }

  /** Cancels an email (see CANCEL_SCRIPT); returns the status it had, or undefined when there is none. */
  async cancel(id: string, now: number): Promise<EmailStatus | undefined> {
    return (
      (await this.redis.freefaceCancelEmail(
        this.keys.email(id),
        this.keys.scheduled(),
        this.keys.emailMessage(id),
        this.keys.unfinishedEmails(),
        id,
        now,
      )) ?? undefined
    );
  }

  private async write(emails: readonly NewEmail[]): Promise<void> {
    const keys: string[] = [this.keys.allEmails(), this.keys.scheduled()];
    const args: (string | number)[] = [(emails[0]?.record.createdAt ?? 0) - this.retentionMs];
    for (const { record, message } of emails) {
      keys.push(
        this.keys.email(record.id),
        this.keys.emailMessage(record.id),
        this.keys.emailsOf(record.service),
      );
      const fields = Object.entries({ ...serialize(record), ...copiedRecipients(message) }).flat();
      args.push(
        record.createdAt,
        this.ttlMs(record),
        record.sendAt ?? '',
        record.id,
        messageJson(message),
        fields.length / 2,
        ...fields,
      );
    }
    keys.push(this.keys.unfinishedEmails());
    await this.redis.freefaceWriteEmails(keys.length, ...keys, ...args);
  }

  /**
   * The shared data and one set bit per member, with the members' lifetime. Plain commands rather than a
   * script, so that they reach Redis in the order issued even when a script must first be loaded. Should
   * only the data be written, it is never released but still expires.
   */
  private async writeShared(shared: SharedGroupData, ttlMs: number): Promise<void> {
    await Promise.all([
      this.redis.set(this.keys.groupData(shared.groupId), shared.data.json, 'PX', ttlMs),
      this.redis.set(this.keys.groupDataMembers(shared.groupId), memberBits(shared.members), 'PX', ttlMs),
    ]);
  }

  /** A new email's record and message live for the retention, counted from its sendAt when it has one. */
  private ttlMs(record: EmailRecord): number {
    return this.retentionMs + Math.max(0, (record.sendAt ?? 0) - record.createdAt);
  }
}

/** A bitmap with bits 0 to count - 1 set (Redis numbers a string's bits from the first byte's highest bit). */
function memberBits(count: number): Buffer {
  const bits = Buffer.alloc(Math.ceil(count / 8), 0xff);
  if (count % 8 !== 0) bits[bits.length - 1] = (0xff << (8 - (count % 8))) & 0xff;
  return bits;
}

function throwIfAnyFailed(results: [Error | null, unknown][] | null): void {
  const failure = results?.find(([error]) => error)?.[0];
  if (failure) throw failure;
}

function parseRecord(id: string, values: (string | null)[]): EmailRecord {
  const field = Object.fromEntries(RECORD_FIELDS.map((name, i) => [name, values[i] ?? null])) as RecordFields;
  return {
    id,
    status: field.status as EmailStatus,
    priority: field.priority as Priority,
    service: field.service ?? '',
    requestId: optional(field.requestId),
    createdAt: Number(field.createdAt),
    sendAt: optionalNumber(field.sendAt),
    attempts: Number(field.attempts ?? 0),
    maxAttempts: Number(field.maxAttempts ?? 0),
    pinnedProvider: optional(field.pinnedProvider),
    provider: optional(field.provider),
    providerMessageId: optional(field.providerMessageId),
    lastError: optional(field.lastError),
    sentAt: optionalNumber(field.sentAt),
    template: optional(field.template),
    to: JSON.parse(field.to ?? '[]') as string[],
    subject: field.subject ?? '',
    tags: JSON.parse(field.tags ?? '[]') as string[],
    metadata: JSON.parse(field.metadata ?? '{}') as Record<string, string>,
    groupId: optional(field.groupId),
    cancelledAt: optionalNumber(field.cancelledAt),
    ...(field.suppressed ? { suppressed: JSON.parse(field.suppressed) as SuppressedRecipient[] } : {}),
  };
}

function serialize(record: EmailRecord): Record<string, string | number> {
  const fields: Record<string, string | number | undefined> = {
    status: record.status,
    priority: record.priority,
    service: record.service,
    requestId: record.requestId,
    createdAt: record.createdAt,
    sendAt: record.sendAt,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    pinnedProvider: record.pinnedProvider,
    template: record.template,
    to: JSON.stringify(record.to),
    subject: record.subject,
    tags: JSON.stringify(record.tags),
    metadata: JSON.stringify(record.metadata),
    groupId: record.groupId,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number
  >;
}

/**
 * The message's Cc and Bcc addresses, kept in the record (when there are any) because the message is dropped
 * once sent, and a provider's later report about one of them must be told from a report about a stranger.
 * Status queries never read them back, so a Bcc stays undisclosed.
 */
function copiedRecipients(message: OutboundMessage): Record<string, string> {
  return {
    ...(message.cc.length > 0 ? { cc: JSON.stringify(message.cc.map((address) => address.email)) } : {}),
    ...(message.bcc.length > 0 ? { bcc: JSON.stringify(message.bcc.map((address) => address.email)) } : {}),
  };
}
