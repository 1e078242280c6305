import { Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-connections';
import { AppConfig } from '../config/app-config';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptArg, type ScriptCommand } from '../redis/scripts';
import { SortedSetPager, type Page, type SortedSetEntry } from '../redis/sorted-set-page';
import type { SuppressedRecipient } from '../suppressions/suppression.store';
import type { EmailRecord, NewEmail, SharedGroupData } from './email-record';
import type { EmailStatus } from '../common/email-status';
import { GroupDataStore } from './group-data.store';
import { messageJson } from './stored-bytes';

const DAY_MS = 86_400_000;
/**
 * Emails written (or discarded) per script call when many are accepted at once: large enough to be cheap,
 * small enough not to stall Redis.
 */
const WRITE_CHUNK = 500;

/** The record's fields as status queries read them; the (possibly large) message is never read back here. */
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

type CancelKeys = [email: string, scheduled: string, message: string, unfinished: string];
const CANCEL = loadScript<CancelKeys, [id: string, now: number], EmailStatus | null>(
  __dirname,
  'cancel-email.lua',
);
const WRITE = loadScript<string[], ScriptArg[], number>(__dirname, 'write-emails.lua');
const DISCARD = loadScript<string[], string[], number>(__dirname, 'discard-emails.lua');

const optional = (value: string | null | undefined) => (value ? value : undefined);
const optionalNumber = (value: string | null | undefined) => (value ? Number(value) : undefined);

/**
 * Email records in Redis: one hash per email holding its status fields, its message under a key of its own
 * until it is sent; for listing, one sorted set of ids by creation time per service and one for all; and the
 * set of scheduled emails by when they are due. Records expire EMAIL_RETENTION_DAYS after their last change and
 * index entries older than that are trimmed on each write, so Redis stays bounded without a cleanup job.
 * The record's fields are read here alone. Its status changes in scripts, each beside the class whose step it
 * is (accept and cancel here; claim, sent, failed and suppressed in DeliveryStore; revive in
 * DeadLetterStore; the reconciler's repairs in ReconcilerStore; provider events in ProviderEventStore),
 * since each must change the record and the lists it is in together.
 */
@Injectable()
export class EmailStore {
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  private readonly pager: SortedSetPager;
  private readonly cancelScript: ScriptCommand<CancelKeys, [id: string, now: number], EmailStatus | null>;
  private readonly writeScript: ScriptCommand<string[], ScriptArg[], number>;
  private readonly discardScript: ScriptCommand<string[], string[], number>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly groupData: GroupDataStore,
    config: AppConfig,
  ) {
    this.redis = connections.client;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    this.pager = new SortedSetPager(this.redis);
    this.cancelScript = scriptCommand(this.redis, CANCEL);
    this.writeScript = scriptCommand(this.redis, WRITE);
    this.discardScript = scriptCommand(this.redis, DISCARD);
  }

  /**
   * Writes new emails (one, a batch or a group) in script calls of WRITE_CHUNK emails, all sent at once
   * without waiting for each other: one script call for one email, about one round trip whatever the count.
   * A group's shared data goes first, on the same connection, so Redis has it before any of its emails (and
   * their jobs).
   */
  async createMany(emails: readonly NewEmail[]): Promise<void> {
    const writes: Promise<unknown>[] = [];
    const shared = new Set<SharedGroupData>();
    for (const email of emails) {
      if (!email.shared || shared.has(email.shared)) continue;
      shared.add(email.shared);
      writes.push(this.groupData.write(email.shared, this.ttlMs(email.record)));
    }
    for (const [partition, ofPartition] of this.keys.byPartition(emails, ({ record }) => record.id))
      for (let start = 0; start < ofPartition.length; start += WRITE_CHUNK)
        writes.push(this.write(partition, ofPartition.slice(start, start + WRITE_CHUNK)));
    await Promise.all(writes);
  }

  /**
   * Removes what `createMany` wrote for emails whose jobs could not be queued (nothing else refers to them yet):
   * records, messages, every index entry, and their group's shared data.
   */
  async discard(records: readonly EmailRecord[]): Promise<void> {
    const discards: Promise<unknown>[] = [];
    for (const [partition, ofPartition] of this.keys.byPartition(records, ({ id }) => id))
      for (let start = 0; start < ofPartition.length; start += WRITE_CHUNK) {
        const chunk = ofPartition.slice(start, start + WRITE_CHUNK);
        const keys = [
          this.keys.allEmails(partition),
          this.keys.scheduled(partition),
          this.keys.unfinishedEmails(partition),
        ];
        for (const { id, service } of chunk)
          keys.push(this.keys.email(id), this.keys.emailMessage(id), this.keys.emailsOf(service, partition));
        discards.push(
          this.discardScript(
            keys,
            chunk.map(({ id }) => id),
          ),
        );
      }
    const groups = new Set(records.flatMap(({ groupId }) => (groupId ? [groupId] : [])));
    discards.push(this.groupData.discard(groups));
    await Promise.all(discards);
  }

  async find(id: string): Promise<EmailRecord | undefined> {
    const values = await this.redis.hmget(this.keys.email(id), ...RECORD_FIELDS);
    return parseRecord(id, values);
  }

  /**
   * The records of `ids`, in their order, in one round trip: undefined for one that is gone (expired, or
   * never written), the error for one Redis refused to read (a key of another type).
   */
  async findMany(ids: readonly string[]): Promise<(EmailRecord | Error | undefined)[]> {
    if (ids.length === 0) return [];
    if (this.keys.partitions > 1) return this.findEachAlone(ids);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(this.keys.email(id), ...RECORD_FIELDS);
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [error, values] = replies[i] ?? [new Error('no reply')];
      return error ?? parseRecord(id, values as (string | null)[]);
    });
  }

  /** findMany with one call per email: a cluster refuses a pipeline whose keys live on several nodes. */
  private findEachAlone(ids: readonly string[]): Promise<(EmailRecord | Error | undefined)[]> {
    return Promise.all(
      ids.map((id) =>
        this.redis.hmget(this.keys.email(id), ...RECORD_FIELDS).then(
          (values) => parseRecord(id, values),
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        ),
      ),
    );
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
      keys: this.keys
        .partitionNumbers()
        .map((partition) =>
          query.service ? this.keys.emailsOf(query.service, partition) : this.keys.allEmails(partition),
        ),
      limit: query.limit,
      ...(after ? { after } : {}),
      load: async (entries) =>
        (await this.findMany(entries.map(({ id }) => id))).map((read) =>
          read instanceof Error ? undefined : read,
        ),
      ...(status ? { matches: (record: EmailRecord) => record.status === status } : {}),
    });
  }

  /** Every recipient of an email (to, cc and bcc, as given), or undefined when there is no such email. */
  async recipientsOf(id: string): Promise<string[] | undefined> {
    const [to, cc, bcc] = await this.redis.hmget(this.keys.email(id), 'to', 'cc', 'bcc');
    if (to === null) return undefined;
    return [to, cc, bcc].flatMap((list) => (list ? (JSON.parse(list) as string[]) : []));
  }

  /** How many emails wait for their sendAt. */
  async scheduledCount(): Promise<number> {
    const counts = await Promise.all(
      this.keys.partitionNumbers().map((partition) => this.redis.zcard(this.keys.scheduled(partition))),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Cancels an email (see cancel-email.lua); returns the status it had, or undefined when there is none. */
  async cancel(id: string, now: number): Promise<EmailStatus | undefined> {
    const partition = this.keys.partitionOf(id);
    const keys: CancelKeys = [
      this.keys.email(id),
      this.keys.scheduled(partition),
      this.keys.emailMessage(id),
      this.keys.unfinishedEmails(partition),
    ];
    return (await this.cancelScript(keys, [id, now])) ?? undefined;
  }

  /** Writes emails of one partition. */
  private async write(partition: number, emails: readonly NewEmail[]): Promise<void> {
    const keys: string[] = [this.keys.allEmails(partition), this.keys.scheduled(partition)];
    const args: ScriptArg[] = [(emails[0]?.record.createdAt ?? 0) - this.retentionMs, this.retentionMs];
    for (const { record, message } of emails) {
      keys.push(
        this.keys.email(record.id),
        this.keys.emailMessage(record.id),
        this.keys.emailsOf(record.service, partition),
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
    keys.push(this.keys.unfinishedEmails(partition));
    await this.writeScript(keys, args);
  }

  /** A new email's record and message live for the retention, counted from its sendAt when it has one. */
  private ttlMs(record: EmailRecord): number {
    return this.retentionMs + Math.max(0, (record.sendAt ?? 0) - record.createdAt);
  }
}

function parseRecord(id: string, values: (string | null)[]): EmailRecord | undefined {
  // The first field is the status, which every record has.
  if (values[0] === null) return undefined;
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
