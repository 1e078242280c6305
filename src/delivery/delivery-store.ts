import { Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { CLAIMABLE_STATUSES, type EmailStatus } from '../emails/email-status';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import type { SuppressedRecipient } from '../suppressions/suppression.store';

const DAY_MS = 86_400_000;

/**
 * Takes an email for delivery in one atomic step, so that it cannot interleave with a cancellation or with
 * another worker:
 * 1. the email's status must allow delivery (else its status is returned);
 * 2. the provider is chosen: the pinned one, else the chain starting after the provider whose transient
 *    failure made this a retry, skipping providers whose circuit is open (all open: wait until the first
 *    closes). After its cool-down a circuit lets one trial send through; the others wait for its verdict;
 * 3. a token is taken from that provider's bucket (tokens are taken only when a send really starts, so
 *    sends never exceed the bucket, however late a waiting email comes back). Without a token, the email
 *    takes a place in line: a slot after every email already waiting, and waits until then (coming back
 *    without a token, it keeps its place and looks again when the next token is due). Waiting spends no
 *    attempt, and the slots keep waiting emails from all waking at once;
 * 4. the status becomes `sending`, the attempt is counted, and the message is returned.
 * An email pinned to a provider this worker does not have waits (no attempt) for a worker that has it, from
 * the first time a worker found it so, for up to the pinned-provider wait; then it is dead, with the reason.
 * Time is Redis's clock, the same for every worker.
 *
 * KEYS[1] email; KEYS[2] the set of scheduled emails; KEYS[2i + 1], KEYS[2i + 2]: circuit and bucket of
 * provider i (i = 1..n); then the dead letters, the unfinished emails, and last, the email's message.
 * ARGV[1] n; ARGV[2] the chain's length (the first providers are the chain, in order; the rest are enabled
 * outside it, usable when pinned); ARGV[3] the pinned-provider wait (ms), ARGV[4] how long such an email
 * waits before it looks again (ms), ARGV[5] the record's retention (ms); then per provider i: name, tokens
 * per ms (0: no limit), burst; then the claimable statuses.
 */
const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local email = KEYS[1]
local id = string.match(email, '[^:]+$')
local status = redis.call('HGET', email, 'status')
if not status then return false end
local n = tonumber(ARGV[1])
local chainLength = tonumber(ARGV[2])
local P = 5
local claimable = false
for i = P + 1 + 3 * n, #ARGV do
  if status == ARGV[i] then claimable = true end
end
if not claimable then return {'final', status} end

local f = redis.call('HMGET', email, 'pinnedProvider', 'provider', 'reservedProvider', 'reservedUntil')
local pinned, last, reservedProvider, reservedUntil = f[1], f[2], f[3], tonumber(f[4])
local function name(i) return ARGV[P + 1 + 3 * (i - 1)] end

local candidates = {}
if pinned then
  for i = 1, n do if name(i) == pinned then candidates[1] = i end end
else
  local start = 1
  if status == 'retrying' and last then
    for i = 1, chainLength do if name(i) == last then start = i % chainLength + 1 end end
  end
  for k = 0, chainLength - 1 do candidates[#candidates + 1] = (start - 1 + k) % chainLength + 1 end
end
if #candidates == 0 then
  local since = tonumber(redis.call('HGET', email, 'unroutableSince'))
  if not since then
    since = now
    redis.call('HSET', email, 'unroutableSince', now)
  end
  local deadline = since + tonumber(ARGV[3])
  if now < deadline then
    return {'wait', math.min(deadline, now + tonumber(ARGV[4])), 'provider', pinned, since == now and 1 or 0}
  end
  local reason = 'provider ' .. pinned .. ' is not configured on the workers that took this email'
  redis.call('HSET', email, 'status', 'dead', 'lastError', reason, 'deadAt', now)
  redis.call('HDEL', email, 'unroutableSince', 'reservedProvider', 'reservedUntil')
  redis.call('PEXPIRE', email, ARGV[5])
  redis.call('PEXPIRE', KEYS[#KEYS], ARGV[5])
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[#KEYS - 2], now, id)
  redis.call('ZREM', KEYS[#KEYS - 1], id)
  local m = redis.call('HMGET', email, 'attempts', 'service', 'requestId', 'priority')
  return {'unroutable', pinned, reason, m[1], m[2], m[3], m[4]}
end

local chosen, reopensAt = nil, nil
for _, i in ipairs(candidates) do
  local circuit = KEYS[2 * i + 1]
  local c = redis.call('HMGET', circuit, 'openUntil', 'trialUntil')
  local openUntil, trialUntil = tonumber(c[1]), tonumber(c[2])
  local blockedUntil = nil
  if openUntil and openUntil > now then
    blockedUntil = openUntil
  elseif openUntil and trialUntil and trialUntil > now then
    -- Half-open, and one email is already the trial send: look again shortly.
    blockedUntil = math.min(trialUntil, now + 1000)
  end
  if blockedUntil then
    if not reopensAt or blockedUntil < reopensAt then reopensAt = blockedUntil end
  else
    -- Half-open: this email is the one trial send; the circuit closes if it succeeds.
    if openUntil then redis.call('HSET', circuit, 'trialUntil', now + 30000) end
    chosen = i
    break
  end
end
if not chosen then return {'wait', reopensAt, 'circuit'} end

local provider = name(chosen)
if reservedProvider and reservedProvider ~= provider then
  redis.call('HDEL', email, 'reservedProvider', 'reservedUntil')
  reservedProvider = nil
end
local rate = tonumber(ARGV[P + 1 + 3 * (chosen - 1) + 1])
if rate > 0 then
  local burst = tonumber(ARGV[P + 1 + 3 * (chosen - 1) + 2])
  local bucket = KEYS[2 * chosen + 2]
  local b = redis.call('HMGET', bucket, 'tokens', 'updatedAt', 'nextSlot')
  local tokens = tonumber(b[1]) or burst
  local updatedAt = tonumber(b[2]) or now
  local nextSlot = tonumber(b[3]) or 0
  tokens = math.min(burst, tokens + math.max(0, now - updatedAt) * rate)
  local waitUntil = nil
  if tokens >= 1 then
    tokens = tokens - 1
    if reservedProvider then redis.call('HDEL', email, 'reservedProvider', 'reservedUntil') end
  elseif reservedProvider == provider then
    -- Already in line: look again when the next token is due.
    waitUntil = now + math.ceil((1 - tokens) / rate)
  else
    -- Join the line: a slot after every email already waiting, so waiting emails do not all wake at once.
    waitUntil = math.max(nextSlot, now + math.ceil((1 - tokens) / rate))
    nextSlot = waitUntil + math.ceil(1 / rate)
    redis.call('HSET', email, 'reservedProvider', provider, 'reservedUntil', waitUntil)
  end
  redis.call('HSET', bucket, 'tokens', tostring(tokens), 'updatedAt', now, 'nextSlot', nextSlot)
  redis.call('PEXPIRE', bucket, math.max(math.ceil((burst - tokens) / rate), nextSlot - now) + 60000)
  if waitUntil then return {'wait', waitUntil, 'rate', provider} end
end

if status == 'scheduled' then redis.call('ZREM', KEYS[2], id) end
local attempt = redis.call('HINCRBY', email, 'attempts', 1)
redis.call('HSET', email, 'status', 'sending', 'provider', provider, 'attemptAt', now)
if pinned then redis.call('HDEL', email, 'unroutableSince') end
local m = redis.call('HMGET', email, 'maxAttempts', 'service', 'requestId', 'priority')
-- An email accepted before the message had a key of its own keeps it in its record.
local message = redis.call('GET', KEYS[#KEYS]) or redis.call('HGET', email, 'message')
return {'claimed', status, attempt, m[1], m[2], m[3], provider, message, m[4]}
`;

/**
 * Records a transient failure in a provider's circuit: after `threshold` in a row it opens for `cooldownMs`;
 * a failure of the trial send after a cool-down opens it again at once. Returns the time it is open until (0:
 * closed). KEYS[1] circuit; ARGV[1] threshold, ARGV[2] cool-down ms.
 */
const CIRCUIT_FAILURE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil'))
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[1]) or (openUntil and openUntil <= now) then
  openUntil = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'openUntil', openUntil, 'failures', 0, 'openedAt', now)
  redis.call('HDEL', KEYS[1], 'trialUntil')
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  return openUntil
end
return 0
`;

/**
 * Records a successful send, drops the message (it is not needed again), takes the email off the unfinished
 * ones and closes the provider's circuit; for a provider whose events may name only its own message id, keeps
 * that id's way back to the email for as long as the record lives.
 * KEYS[1] email, KEYS[2] the email's message, KEYS[3] the provider's circuit, KEYS[4] the provider message
 * id's entry, KEYS[5] the unfinished emails; ARGV[1] provider, ARGV[2] provider message id, ARGV[3] sentAt,
 * ARGV[4] retention ms, ARGV[5] the email's id to write in KEYS[4], or '' for none; ARGV[6] the email's id.
 */
const MARK_SENT_SCRIPT = `
redis.call('HSET', KEYS[1], 'status', 'sent', 'provider', ARGV[1], 'providerMessageId', ARGV[2], 'sentAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], 'message')
redis.call('HDEL', KEYS[3], 'failures', 'openUntil', 'trialUntil')
redis.call('ZREM', KEYS[5], ARGV[6])
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[4]) end
`;

/**
 * Providers whose event callbacks may carry neither our X-Email-Id nor our id as a tag: SES's identity
 * notifications name only SES's MessageId unless "include original headers" is on. The others echo our
 * `email_id` back on every event (Mailgun's user variables, SendGrid's custom arguments).
 */
const INDEXED_PROVIDERS: ReadonlySet<ProviderName> = new Set(['ses']);

/** How often an email pinned to a provider this worker lacks looks again for a worker that has it. */
const UNROUTABLE_LOOK_AGAIN_MS = 5000;

type ClaimReply =
  | null
  | ['final', string]
  | ['wait', number, 'circuit' | 'rate', string?]
  | ['wait', number, 'provider', string, 0 | 1]
  | ['unroutable', string, string, string, string, string | null, Priority]
  | ['claimed', EmailStatus, number, string, string, string | null, ProviderName, string | null, Priority];

interface ScriptedRedis extends Redis {
  freefaceClaimForDelivery(...keysAndArgs: (string | number)[]): Promise<ClaimReply>;
  freefaceCircuitFailure(key: string, threshold: number, cooldownMs: number): Promise<number>;
  freefaceMarkSent(...keysAndArgs: (string | number)[]): Promise<null>;
}

/** The outcome of trying to take an email for delivery. */
export type DeliveryClaim =
  | { kind: 'missing' }
  | { kind: 'final'; status: string }
  | { kind: 'wait'; untilMs: number; reason: 'circuit' | 'rate'; provider?: ProviderName }
  /** Pinned to a provider this worker does not have: it waits for a worker that has it (`first`: from now). */
  | { kind: 'wait'; untilMs: number; reason: 'provider'; provider: string; first: boolean }
  /** Pinned to a provider no worker that took it had, for longer than the wait: the email is now dead. */
  | {
      kind: 'unroutable';
      provider: string;
      reason: string;
      attempts: number;
      service: string;
      requestId?: string;
      priority: Priority;
    }
  | {
      kind: 'claimed';
      previousStatus: EmailStatus;
      attempt: number;
      maxAttempts: number;
      service: string;
      requestId?: string;
      provider: ProviderName;
      priority: Priority;
      message: OutboundMessage;
    };

/**
 * The worker's side of the email records and of the providers' shared state (circuits, token buckets, dead
 * letters), all in Redis so that every worker replica sees the same.
 */
@Injectable()
export class DeliveryStore {
  private readonly redis: ScriptedRedis;
  private readonly retentionMs: number;
  /** Providers in the order the claim script expects: the chain first, then the other enabled ones. */
  private readonly order: ProviderName[];
  private readonly providerKeys: string[];
  private readonly providerArgs: (string | number)[];

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly config: AppConfig,
  ) {
    this.redis = connections.client as ScriptedRedis;
    this.retentionMs = config.email.retentionDays * DAY_MS;
    const { primary, fallbacks, enabled, rateLimits } = config.providers;
    const chain = [primary, ...fallbacks];
    this.order = [...chain, ...enabled.filter((name) => !chain.includes(name))];
    this.providerKeys = this.order.flatMap((name) => [keys.circuit(name), keys.rateBucket(name)]);
    this.providerArgs = [
      this.order.length,
      chain.length,
      config.delivery.pinnedProviderWaitMs,
      UNROUTABLE_LOOK_AGAIN_MS,
      this.retentionMs,
      ...this.order.flatMap((name) => [
        name,
        rateLimits[name]?.tokensPerMs ?? 0,
        rateLimits[name]?.burst ?? 1,
      ]),
      ...CLAIMABLE_STATUSES,
    ];
    if (!this.redis.freefaceClaimForDelivery) {
      this.redis.defineCommand('freefaceClaimForDelivery', { lua: CLAIM_SCRIPT });
      this.redis.defineCommand('freefaceCircuitFailure', { numberOfKeys: 1, lua: CIRCUIT_FAILURE_SCRIPT });
      this.redis.defineCommand('freefaceMarkSent', { numberOfKeys: 5, lua: MARK_SENT_SCRIPT });
    }
  }

  /** Takes an email for delivery (see CLAIM_SCRIPT). */
  async claim(emailId: string): Promise<DeliveryClaim> {
    const keys = [
      this.keys.email(emailId),
      this.keys.scheduled(),
      ...this.providerKeys,
      this.keys.deadLetters(),
      this.keys.unfinishedEmails(),
      this.keys.emailMessage(emailId),
    ];
    const reply = await this.redis.freefaceClaimForDelivery(keys.length, ...keys, ...this.providerArgs);
    if (reply === null) return { kind: 'missing' };
    switch (reply[0]) {
      case 'final':
        return { kind: 'final', status: reply[1] };
      case 'wait':
        if (reply[2] === 'provider')
          return {
            kind: 'wait',
            untilMs: Number(reply[1]),
            reason: 'provider',
            provider: reply[3],
            first: reply[4] === 1,
          };
        return {
          kind: 'wait',
          untilMs: Number(reply[1]),
          reason: reply[2],
          ...(reply[3] ? { provider: reply[3] as ProviderName } : {}),
        };
      case 'unroutable': {
        const [, provider, reason, attempts, service, requestId, priority] = reply;
        return {
          kind: 'unroutable',
          provider,
          reason,
          attempts: Number(attempts ?? 0),
          service,
          ...(requestId ? { requestId } : {}),
          priority,
        };
      }
      case 'claimed': {
        const [, previousStatus, attempt, maxAttempts, service, requestId, provider, message, priority] =
          reply;
        return {
          kind: 'claimed',
          previousStatus,
          attempt: Number(attempt),
          maxAttempts: Number(maxAttempts),
          service,
          ...(requestId ? { requestId } : {}),
          provider,
          priority,
          message: JSON.parse(message ?? '{}') as OutboundMessage,
        };
      }
    }
  }

  /** Records a successful send, drops the message and closes the provider's circuit (see MARK_SENT_SCRIPT). */
  async markSent(
    emailId: string,
    sent: { provider: ProviderName; providerMessageId: string; sentAt: number },
  ): Promise<void> {
    await this.redis.freefaceMarkSent(
      this.keys.email(emailId),
      this.keys.emailMessage(emailId),
      this.keys.circuit(sent.provider),
      this.keys.providerMessage(sent.provider, sent.providerMessageId),
      this.keys.unfinishedEmails(),
      sent.provider,
      sent.providerMessageId,
      sent.sentAt,
      this.retentionMs,
      INDEXED_PROVIDERS.has(sent.provider) ? emailId : '',
      emailId,
    );
  }

  /**
   * Records a failed attempt: `retrying` when another will follow, `dead` (and in the dead letters) when none
   * will. The message is kept, so that a dead letter can be retried.
   */
  async markFailed(
    emailId: string,
    failure: {
      status: 'retrying' | 'dead';
      provider: ProviderName;
      lastError: string;
      at: number;
      permanent: boolean;
    },
  ): Promise<void> {
    const key = this.keys.email(emailId);
    const transaction = this.redis
      .multi()
      .hset(key, { status: failure.status, provider: failure.provider, lastError: failure.lastError })
      .pexpire(key, this.retentionMs)
      .pexpire(this.keys.emailMessage(emailId), this.retentionMs);
    // A permanent refusal is still an answer: the provider is up, so its circuit closes.
    if (failure.permanent)
      transaction.hdel(this.keys.circuit(failure.provider), 'failures', 'openUntil', 'trialUntil');
    if (failure.status === 'dead')
      transaction
        .hset(key, 'deadAt', failure.at)
        .zadd(this.keys.deadLetters(), failure.at, emailId)
        .zrem(this.keys.unfinishedEmails(), emailId);
    await transaction.exec().then(throwIfAnyFailed);
  }

  /**
   * Names the recipients left out because they are suppressed. When none is left (`final`), the email ends
   * `suppressed` and its message is dropped, as a sent one's is.
   */
  async markSuppressed(
    emailId: string,
    suppressed: readonly SuppressedRecipient[],
    final: boolean,
  ): Promise<void> {
    const key = this.keys.email(emailId);
    const transaction = this.redis.multi().hset(key, 'suppressed', JSON.stringify(suppressed));
    if (final)
      transaction
        .hset(key, 'status', 'suppressed')
        .pexpire(key, this.retentionMs)
        .del(this.keys.emailMessage(emailId))
        .hdel(key, 'message')
        .zrem(this.keys.unfinishedEmails(), emailId);
    await transaction.exec().then(throwIfAnyFailed);
  }

  /** Counts a transient failure against the provider's circuit; returns the time it is open until, or 0. */
  recordProviderFailure(provider: ProviderName): Promise<number> {
    const { failureThreshold, cooldownMs } = this.config.providers.circuit;
    return this.redis.freefaceCircuitFailure(this.keys.circuit(provider), failureThreshold, cooldownMs);
  }
}

function throwIfAnyFailed(results: [Error | null, unknown][] | null): void {
  const failure = results?.find(([error]) => error)?.[0];
  if (failure) throw failure;
  if (results === null) throw new Error('Redis transaction was aborted');
}
