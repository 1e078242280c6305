import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { CLAIMABLE_STATUSES, type EmailStatus } from '../common/email-status';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections, type RedisClient } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { loadScript, scriptCommand, type ScriptArg, type ScriptCommand } from '../redis/scripts';
import type { SuppressedRecipient } from '../suppressions/suppression.store';

const DAY_MS = 86_400_000;

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

const CLAIM = loadScript<string[], ScriptArg[], ClaimReply>(__dirname, 'claim-for-delivery.lua');
type LookReply = Exclude<ClaimReply, ['claimed', ...unknown[]]> | ['look', string, ...number[]];
type LookKeys = [email: string, scheduled: string, deadLetters: string, unfinished: string, message: string];
const CLAIM_LOOK = loadScript<LookKeys, ScriptArg[], LookReply>(__dirname, 'claim-step-look.lua');
type ProviderStepReply = ['token', number, 0 | 1] | ['wait', number, number, ...(string | number)[]];
const CLAIM_PROVIDER = loadScript<string[], ScriptArg[], ProviderStepReply>(
  __dirname,
  'claim-step-provider.lua',
);
type TakeKeys = [email: string, scheduled: string, message: string];
const CLAIM_TAKE = loadScript<TakeKeys, ScriptArg[], ClaimReply>(__dirname, 'claim-step-take.lua');
type GiveBackKeys = [circuit: string, bucket: string];
type GiveBackArgs = [tokensPerMs: number, burst: number, trial: '1' | '0'];
const GIVE_BACK = loadScript<GiveBackKeys, GiveBackArgs, number>(__dirname, 'give-back-token.lua');
type MarkSentKeys =
  | [email: string, message: string, providerMessage: string, unfinished: string]
  | [email: string, message: string, providerMessage: string, unfinished: string, circuit: string];
type MarkSentArgs = [
  provider: string,
  providerMessageId: string,
  sentAt: number,
  retentionMs: number,
  indexedEmailId: string,
  emailId: string,
];
const MARK_SENT = loadScript<MarkSentKeys, MarkSentArgs, null>(__dirname, 'mark-sent.lua');
type MarkFailedKeys =
  | [email: string, message: string, deadLetters: string, unfinished: string]
  | [email: string, message: string, deadLetters: string, unfinished: string, circuit: string];
type MarkFailedArgs = [
  emailId: string,
  status: 'retrying' | 'dead',
  provider: string,
  lastError: string,
  at: number,
  retentionMs: number,
  permanent: '1' | '0',
];
const MARK_FAILED = loadScript<MarkFailedKeys, MarkFailedArgs, null>(__dirname, 'mark-failed.lua');
type MarkSuppressedKeys = [email: string, message: string, unfinished: string];
type MarkSuppressedArgs = [emailId: string, suppressed: string, final: '1' | '0', retentionMs: number];
const MARK_SUPPRESSED = loadScript<MarkSuppressedKeys, MarkSuppressedArgs, null>(
  __dirname,
  'mark-suppressed.lua',
);

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
 * The worker's steps of an email's delivery, each one script call that changes the email's record together
 * with the lists it is in (scheduled, unfinished, dead letters) and its provider's circuit and bucket (see
 * ProviderStateStore): the claim, and the outcome of the attempt (sent, failed, or left out as suppressed).
 * With several partitions the email's keys and the providers' are in different slots, which no script may
 * span: the claim becomes three scripts (the email looked at, a provider's token taken, the email claimed,
 * and the token given back when the email was taken meanwhile), and a send's outcome closes the circuit in a
 * call of its own. One partition keeps the one-script claim: a round trip instead of three per email.
 */
@Injectable()
export class DeliveryStore {
  private readonly redis: RedisClient;
  private readonly retentionMs: number;
  /** Providers in the order the claim script expects: the chain first, then the other enabled ones. */
  private readonly order: ProviderName[];
  private readonly providerKeys: string[];
  private readonly providerArgs: ScriptArg[];
  private readonly claimScript: ScriptCommand<string[], ScriptArg[], ClaimReply>;
  private readonly lookScript: ScriptCommand<LookKeys, ScriptArg[], LookReply>;
  private readonly providerStepScript: ScriptCommand<string[], ScriptArg[], ProviderStepReply>;
  private readonly takeScript: ScriptCommand<TakeKeys, ScriptArg[], ClaimReply>;
  private readonly giveBackScript: ScriptCommand<GiveBackKeys, GiveBackArgs, number>;
  private readonly rateLimits: AppConfig['providers']['rateLimits'];
  private readonly markSentScript: ScriptCommand<MarkSentKeys, MarkSentArgs, null>;
  private readonly markFailedScript: ScriptCommand<MarkFailedKeys, MarkFailedArgs, null>;
  private readonly markSuppressedScript: ScriptCommand<MarkSuppressedKeys, MarkSuppressedArgs, null>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
    this.redis = connections.client;
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
      CLAIMABLE_STATUSES.join(','),
      ...this.order.flatMap((name) => [
        name,
        rateLimits[name]?.tokensPerMs ?? 0,
        rateLimits[name]?.burst ?? 1,
      ]),
    ];
    this.rateLimits = rateLimits;
    this.claimScript = scriptCommand(connections.client, CLAIM);
    this.lookScript = scriptCommand(connections.client, CLAIM_LOOK);
    this.providerStepScript = scriptCommand(connections.client, CLAIM_PROVIDER);
    this.takeScript = scriptCommand(connections.client, CLAIM_TAKE);
    this.giveBackScript = scriptCommand(connections.client, GIVE_BACK);
    this.markSentScript = scriptCommand(connections.client, MARK_SENT);
    this.markFailedScript = scriptCommand(connections.client, MARK_FAILED);
    this.markSuppressedScript = scriptCommand(connections.client, MARK_SUPPRESSED);
  }

  /** Takes an email for delivery (see claim-for-delivery.lua). */
  async claim(emailId: string): Promise<DeliveryClaim> {
    const reply =
      this.keys.partitions === 1 ? await this.claimInOneStep(emailId) : await this.claimInSteps(emailId);
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

  private claimInOneStep(emailId: string): Promise<ClaimReply> {
    const partition = this.keys.partitionOf(emailId);
    return this.claimScript(
      [
        this.keys.email(emailId),
        this.keys.scheduled(partition),
        ...this.providerKeys,
        this.keys.deadLetters(partition),
        this.keys.unfinishedEmails(partition),
        this.keys.emailMessage(emailId),
      ],
      this.providerArgs,
    );
  }

  /** The claim as three scripts, each in one slot (see claim-step-*.lua), and the token given back if unused. */
  private async claimInSteps(emailId: string): Promise<ClaimReply> {
    const partition = this.keys.partitionOf(emailId);
    const [email, scheduled, message] = [
      this.keys.email(emailId),
      this.keys.scheduled(partition),
      this.keys.emailMessage(emailId),
    ];
    const looked = await this.lookScript(
      [email, scheduled, this.keys.deadLetters(partition), this.keys.unfinishedEmails(partition), message],
      this.providerArgs,
    );
    if (looked === null || looked[0] !== 'look') return looked;
    const [, reserved, ...candidates] = looked;
    const taken = await this.providerStepScript(this.providerKeys, [
      ...this.providerArgs,
      reserved,
      ...candidates,
    ]);
    // Should this step fail (Redis gone), whether it claimed the email is unknown, so the token is kept: a lost
    // token delays the provider's next send by one token's time, a token given back twice could exceed its rate,
    // and a trial it held lapses by itself.
    const reply = await this.takeScript([email, scheduled, message], [...this.providerArgs, ...taken]);
    if (taken[0] === 'token' && reply?.[0] !== 'claimed') await this.giveBack(taken[1], taken[2]);
    return reply;
  }

  /** Gives back the token (and the circuit's trial) that a claim took for provider `index` (1-based). */
  private async giveBack(index: number, trial: 0 | 1): Promise<void> {
    const provider = this.order[index - 1]!;
    await this.giveBackScript(
      [this.keys.circuit(provider), this.keys.rateBucket(provider)],
      [this.rateLimits[provider]?.tokensPerMs ?? 0, this.rateLimits[provider]?.burst ?? 1, trial ? '1' : '0'],
    );
  }

  /** Records a successful send, drops the message and closes the provider's circuit (see mark-sent.lua). */
  async markSent(
    emailId: string,
    sent: { provider: ProviderName; providerMessageId: string; sentAt: number },
  ): Promise<void> {
    const partition = this.keys.partitionOf(emailId);
    const keys: MarkSentKeys = [
      this.keys.email(emailId),
      this.keys.emailMessage(emailId),
      this.keys.providerMessage(sent.provider, sent.providerMessageId, partition),
      this.keys.unfinishedEmails(partition),
    ];
    if (this.keys.partitions === 1) keys.push(this.keys.circuit(sent.provider));
    await this.markSentScript(keys, [
      sent.provider,
      sent.providerMessageId,
      sent.sentAt,
      this.retentionMs,
      INDEXED_PROVIDERS.has(sent.provider) ? emailId : '',
      emailId,
    ]);
    if (this.keys.partitions > 1) await this.closeCircuit(sent.provider);
  }

  /**
   * Records a failed attempt: `retrying` when another will follow, `dead` (and in the dead letters) when none
   * will. The message is kept, so that a dead letter can be retried (see mark-failed.lua).
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
    const partition = this.keys.partitionOf(emailId);
    const keys: MarkFailedKeys = [
      this.keys.email(emailId),
      this.keys.emailMessage(emailId),
      this.keys.deadLetters(partition),
      this.keys.unfinishedEmails(partition),
    ];
    if (this.keys.partitions === 1) keys.push(this.keys.circuit(failure.provider));
    await this.markFailedScript(keys, [
      emailId,
      failure.status,
      failure.provider,
      failure.lastError,
      failure.at,
      this.retentionMs,
      failure.permanent ? '1' : '0',
    ]);
    if (this.keys.partitions > 1 && failure.permanent) await this.closeCircuit(failure.provider);
  }

  /**
   * Names the recipients left out because they are suppressed. When none is left (`final`), the email ends
   * `suppressed` and its message is dropped, as a sent one's is (see mark-suppressed.lua).
   */
  async markSuppressed(
    emailId: string,
    suppressed: readonly SuppressedRecipient[],
    final: boolean,
  ): Promise<void> {
    await this.markSuppressedScript(
      [
        this.keys.email(emailId),
        this.keys.emailMessage(emailId),
        this.keys.unfinishedEmails(this.keys.partitionOf(emailId)),
      ],
      [emailId, JSON.stringify(suppressed), final ? '1' : '0', this.retentionMs],
    );
  }

  /**
   * Closes a provider's circuit apart from the email's outcome (several partitions): the provider answered
   * (includes/close-circuit.lua). After the outcome is recorded: should this fail, the job runs again and finds
   * the email final, and the circuit at worst keeps a failure or a trial that lapses on its own.
   */
  private async closeCircuit(provider: ProviderName): Promise<void> {
    await this.redis.hdel(this.keys.circuit(provider), 'failures', 'openUntil', 'trialUntil');
  }
}
