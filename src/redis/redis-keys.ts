import { crc32 } from 'node:zlib';
import calculateSlot from 'cluster-key-slot';
import { hashTagBounds } from '../common/hash-tag';

/**
 * Every Redis key the service writes besides Bull's own, under the configured prefix. The default prefix is
 * hash-tagged (`{freeface}`) so that every key lands in one Redis Cluster slot, which Lua scripts need.
 * Grouped by the class that owns them: it alone reads and writes them from TypeScript and knows their fields.
 * A step that must change several structures at once is one script of the class whose step it is, and the
 * script's header names every key it touches.
 *
 * With `partitions` above 1 (REDIS_PARTITIONS), the emails are spread over that many partitions, each with a
 * hash tag of its own (`{freeface}` becomes `{freeface.p0}` … `{freeface.p<N-1>}`): an email's record, message
 * and entries in the lists of emails live in the partition its id hashes to, as do its Bull jobs
 * (`queuePrefix`), so that every script about one email finds its keys in one slot. Everything else (providers'
 * circuits and buckets, quotas, webhooks, audit) stays under the prefix itself: the shared slot. With one
 * partition, partition 0 is the prefix itself, so a single Redis keeps the layout it always had.
 */
export class RedisKeys {
  private readonly partitionPrefixes: readonly string[];

  constructor(
    private readonly prefix: string,
    readonly partitions = 1,
  ) {
    this.partitionPrefixes =
      partitions === 1
        ? [prefix]
        : Array.from({ length: partitions }, (_, p) => partitionPrefix(prefix, p, partitions));
  }

  /** The partition of an email: a hash of its whole id (UUIDv7s share their leading time bits). */
  partitionOf(emailId: string): number {
    return this.partitions === 1 ? 0 : crc32(emailId) % this.partitions;
  }

  /** Every partition's number, 0 to partitions - 1. */
  partitionNumbers(): number[] {
    return [...this.partitionPrefixes.keys()];
  }

  /** Items grouped by the partition of their email, in their order: a script names one partition's keys only. */
  byPartition<T>(items: readonly T[], emailIdOf: (item: T) => string): Map<number, T[]> {
    const partitions = new Map<number, T[]>();
    for (const item of items) {
      const partition = this.partitionOf(emailIdOf(item));
      const ofPartition = partitions.get(partition);
      if (ofPartition) ofPartition.push(item);
      else partitions.set(partition, [item]);
    }
    return partitions;
  }

  /** The prefix of one partition's Bull queues: its jobs share the slot of its emails' records. */
  queuePrefix(partition: number): string {
    return this.partitionPrefixes[partition]!;
  }

  private ofEmail(id: string): string {
    return this.partitionPrefixes[this.partitionOf(id)]!;
  }

  // PartitionLayout (queue/)
  /**
   * How many partitions the emails are in: a hash of the current number, the previous one and when it changed
   * (absent: 1, the layout from before partitions).
   */
  partitionLayout(): string {
    return `${this.prefix}:partitions`;
  }

  // EmailStore (emails/): the record, its message and the lists it is in. DeliveryStore,
  // DeadLetterStore, ReconcilerStore and ProviderEventStore change them in their scripts.
  /** An email's record: a hash of its status fields (small values, so Redis keeps it compact). */
  email(id: string): string {
    return `${this.ofEmail(id)}:email:${id}`;
  }

  /** An email's message (JSON), kept apart from its record until it is sent; expires with the record. */
  emailMessage(id: string): string {
    return `${this.ofEmail(id)}:email:${id}:message`;
  }

  /** Sorted set of one service's email ids by creation time, for listing: one per partition. */
  emailsOf(service: string, partition: number): string {
    return `${this.partitionPrefixes[partition]}:emails:${service}`;
  }

  /** Sorted set of every email id by creation time, for an admin's listing: one per partition. */
  allEmails(partition: number): string {
    return `${this.partitionPrefixes[partition]}:emails`;
  }

  /** Sorted set of scheduled email ids, scored by when they are due: one per partition. */
  scheduled(partition: number): string {
    return `${this.partitionPrefixes[partition]}:scheduled`;
  }

  // GroupDataStore (emails/)
  /** A group notification's shared template data (JSON), stored once for all its emails. */
  groupData(groupId: string): string {
    return `${this.prefix}:group-data:${groupId}`;
  }

  /** One bit per email of a group, set while that email may still need the group's shared data. */
  groupDataMembers(groupId: string): string {
    return `${this.prefix}:group-data:${groupId}:members`;
  }

  // ReconcilerStore (reconciler/); the unfinished emails change in the scripts of every step of an email.
  /**
   * Sorted set of the ids of unfinished emails (not yet sent, suppressed, dead or cancelled), scored by when each
   * was last seen making progress: the reconciler checks those that have not for a while. One per partition.
   */
  unfinishedEmails(partition: number): string {
    return `${this.partitionPrefixes[partition]}:unfinished`;
  }

  /** The reconciler's leader: one worker's token, with an expiry, so that one worker at a time sweeps. */
  reconcilerLeader(): string {
    return `${this.prefix}:reconciler:leader`;
  }

  // DeadLetterStore (dead-letters/); emails die in DeliveryStore's and ReconcilerStore's scripts.
  /** Sorted set of dead email ids, scored by when they died: one per partition. */
  deadLetters(partition: number): string {
    return `${this.partitionPrefixes[partition]}:dead-letters`;
  }

  // ProviderStateStore (delivery/); the claim and a send's outcome change them in DeliveryStore's scripts.
  /** A provider's circuit breaker: consecutive transient failures and the time it stays open until. */
  circuit(provider: string): string {
    return `${this.prefix}:circuit:${provider}`;
  }

  /** A provider's token bucket, shared by every worker. */
  rateBucket(provider: string): string {
    return `${this.prefix}:rate:${provider}`;
  }

  // ProviderEventStore (provider-events/); mark-sent.lua writes the provider message ids.
  /**
   * A provider event already applied (its id), so that a replayed callback changes nothing; in the partition
   * of the email it is about, which the event's script changes with it.
   */
  providerEvent(emailId: string, provider: string, eventId: string): string {
    return `${this.ofEmail(emailId)}:provider-event:${provider}:${eventId}`;
  }

  /**
   * Our email id under a provider's id of the message, for the providers whose event callbacks may name only
   * their own id (SES); expires with the email's record. Written with the record in its partition: a reader
   * who knows only the provider's id looks in every partition.
   */
  providerMessage(provider: string, messageId: string, partition: number): string {
    return `${this.partitionPrefixes[partition]}:provider-message:${provider}:${messageId}`;
  }

  // The provider callbacks' own stores (provider-events/)
  /** The token bucket of one client address's provider callbacks (PROVIDER_CALLBACK_RATE_LIMIT). */
  callbackRateBucket(address: string): string {
    return `${this.prefix}:callback-rate:${address}`;
  }

  /** A Mailgun callback token already used (its digest), so that a captured signature is accepted once. */
  mailgunToken(digest: string): string {
    return `${this.prefix}:mailgun-token:${digest}`;
  }

  // GroupStore (groups/)
  /** A named recipient group (JSON). */
  group(name: string): string {
    return `${this.prefix}:group:${name}`;
  }

  /** Sorted set of group names (all scored 0: listed by name). */
  groupNames(): string {
    return `${this.prefix}:groups`;
  }

  // IdempotencyStore (idempotency/)
  /** The first response to a POST with an idempotency key, per service (the key is hashed). */
  idempotency(service: string, keyHash: string): string {
    return `${this.prefix}:idempotency:${service}:${keyHash}`;
  }

  // AuditStore (audit/)
  /**
   * Where one email's audit entries are, oldest first: `<service> <stream id>` each, in its service's stream of
   * the email's partition; expires with the retention.
   */
  auditOfEmail(id: string): string {
    return `${this.ofEmail(id)}:audit:email:${id}`;
  }

  /**
   * An audit stream of one service (trimmed to the retention): in a partition, the one copy of each entry about
   * the partition's emails; without one, the entries about no email (a webhook endpoint's). With one partition
   * both are the same stream.
   */
  auditStream(service: string, partition?: number): string {
    const prefix = partition === undefined ? this.prefix : this.partitionPrefixes[partition];
    return `${prefix}:audit:service:${service}`;
  }

  /** The services that have an audit stream, for reading every service's trail at once. */
  auditServices(): string {
    return `${this.prefix}:audit:services`;
  }

  // SuppressionStore (suppressions/)
  /** One suppressed address (lower-cased): its reason, source and times; expires with SUPPRESSION_TTL_DAYS. */
  suppression(address: string): string {
    return `${this.prefix}:suppression:${address}`;
  }

  /** Sorted set of suppressed addresses by when they were added, for listing. */
  suppressions(): string {
    return `${this.prefix}:suppressions`;
  }

  // WebhookEndpointsStore (webhooks/)
  /** A webhook endpoint: its owner, URL, events and sealed secret. */
  webhookEndpoint(id: string): string {
    return `${this.prefix}:webhook-endpoint:${id}`;
  }

  /** Sorted set of webhook endpoint ids by creation time. */
  webhookEndpoints(): string {
    return `${this.prefix}:webhook-endpoints`;
  }

  /** Bumped on every change to the endpoints, so that each process reloads its copy of them. */
  webhookEndpointsVersion(): string {
    return `${this.prefix}:webhook-endpoints:version`;
  }

  // WebhookDeliveriesStore (webhooks/)
  /** One webhook delivery: the event sent, its status and attempts; expires with the audit retention. */
  webhookDelivery(id: string): string {
    return `${this.prefix}:webhook-delivery:${id}`;
  }

  /** Sorted set of an endpoint's delivery ids by creation time: all of them, or those of one status. */
  webhookDeliveries(endpointId: string, status?: string): string {
    return `${this.prefix}:webhook-endpoint:${endpointId}:deliveries${status ? `:${status}` : ''}`;
  }

  // WebhookEndpointGate (webhooks/)
  /** Sorted set of the requests in flight to one endpoint: job id → when its slot lapses (Redis time, ms). */
  webhookSlots(endpointId: string): string {
    return `${this.prefix}:webhook-endpoint:${endpointId}:slots`;
  }

  /** Sorted set of the jobs waiting for a slot of one endpoint: job id → its delivery's creation time. */
  webhookLine(endpointId: string): string {
    return `${this.prefix}:webhook-endpoint:${endpointId}:line`;
  }

  /** Hash of one endpoint's health: timeouts in a row, and when and why it was paused. */
  webhookHealth(endpointId: string): string {
    return `${this.prefix}:webhook-endpoint:${endpointId}:health`;
  }

  /** Set of the ids of paused webhook endpoints. */
  pausedWebhookEndpoints(): string {
    return `${this.prefix}:webhook-endpoints:paused`;
  }

  // SmtpIngressStats (smtp-ingress/)
  /** The SMTP ingress's totals (sessions, failed logins, messages accepted and refused) over every process. */
  smtpIngressStats(): string {
    return `${this.prefix}:smtp-ingress`;
  }

  // ServiceMetricsRecorder (metrics/)
  /** Per-service counters of calls and emails, summed over every replica. */
  serviceMetrics(service: string): string {
    return `${this.prefix}:service-metrics:${service}`;
  }

  /** The set of services that have counters. */
  serviceMetricsIndex(): string {
    return `${this.prefix}:service-metrics`;
  }

  /** Emails sent and failed in one minute (for the dashboard's chart); expires after two hours. */
  minuteStats(minute: number): string {
    return `${this.prefix}:minute:${minute}`;
  }

  // The limits on callers (rate-limit/): RequestLimiter, AuthFailureLimiter, DailyQuotaStore
  /** A calling service's API token bucket, shared by every api replica; expires once it would be full. */
  apiRateBucket(service: string): string {
    return `${this.prefix}:api-rate:${service}`;
  }

  /** Failed authentications from one client address in the current window; expires with the window. */
  authFailures(address: string): string {
    return `${this.prefix}:auth-failures:${address}`;
  }

  /** Failed dashboard sign-ins from one client address in the current window; expires with the window. */
  dashboardSignInFailures(address: string): string {
    return `${this.prefix}:dashboard-sign-in-failures:${address}`;
  }

  /** Emails a service had accepted on one UTC day (`2026-05-01`); expires two days later. */
  dailyQuota(service: string, day: string): string {
    return `${this.prefix}:daily-quota:${service}:${day}`;
  }

  /** Bytes stored for the emails a service had accepted on one UTC day; expires two days later. */
  dailyByteQuota(service: string, day: string): string {
    return `${this.prefix}:daily-bytes:${service}:${day}`;
  }
}

/** Redis Cluster's hash slots: 0 to SLOTS - 1. */
const SLOTS = 16_384;

/**
 * `{freeface}` → `{freeface.p3}`: the hash tag itself gains the partition, so each partition has a slot. Where
 * that slot falls outside the partition's share of the slots (partition p of n: from p × 16384 / n on), a
 * counter is added (`{freeface.p3.17}`, the first that lands inside), so that the partitions' slots are spread
 * evenly: a cluster's shards hold even ranges of slots, and n a multiple of the shards then puts as many
 * partitions on each, where plain hashing may put three on one shard and one on another. A prefix without a
 * tag (a single Redis only: on a cluster loadConfig refuses it) gains a suffix.
 */
function partitionPrefix(prefix: string, partition: number, partitions: number): string {
  const tag = hashTagBounds(prefix);
  if (!tag) return `${prefix}.p${partition}`;
  const withTag = (suffix: string) => `${prefix.slice(0, tag.end)}${suffix}${prefix.slice(tag.end)}`;
  const from = Math.ceil((partition * SLOTS) / partitions);
  const to = Math.ceil(((partition + 1) * SLOTS) / partitions);
  const inShare = (candidate: string) => {
    const slot = calculateSlot(candidate);
    return slot >= from && slot < to;
  };
  if (inShare(withTag(`.p${partition}`))) return withTag(`.p${partition}`);
  for (let counter = 0; ; counter++) {
    const candidate = withTag(`.p${partition}.${counter}`);
    if (inShare(candidate)) return candidate;
  }
}
