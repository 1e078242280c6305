import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import type { ProviderName } from '../config/env.schema';
import { CLAIMABLE_STATUSES, type EmailStatus } from '../common/email-status';
import type { OutboundMessage } from '../providers/outbound-email';
import type { Priority } from '../queue/queue-names';
import { RedisConnections } from '../redis/redis-connections';
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
type MarkSentKeys = [
  email: string,
  message: string,
  circuit: string,
  providerMessage: string,
  unfinished: string,
];
type MarkSentArgs = [
  provider: string,
  providerMessageId: string,
  sentAt: number,
  retentionMs: number,
  indexedEmailId: string,
  emailId: string,
];
const MARK_SENT = loadScript<MarkSentKeys, MarkSentArgs, null>(__dirname, 'mark-sent.lua');
type MarkFailedKeys = [
  email: string,
  message: string,
  circuit: string,
  deadLetters: string,
  unfinished: string,
];
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
 */
@Injectable()
export class DeliveryStore {
  private readonly retentionMs: number;
  /** Providers in the order the claim script expects: the chain first, then the other enabled ones. */
  private readonly order: ProviderName[];
  private readonly providerKeys: string[];
  private readonly providerArgs: ScriptArg[];
  private readonly claimScript: ScriptCommand<string[], ScriptArg[], ClaimReply>;
  private readonly markSentScript: ScriptCommand<MarkSentKeys, MarkSentArgs, null>;
  private readonly markFailedScript: ScriptCommand<MarkFailedKeys, MarkFailedArgs, null>;
  private readonly markSuppressedScript: ScriptCommand<MarkSuppressedKeys, MarkSuppressedArgs, null>;

  constructor(
    connections: RedisConnections,
    private readonly keys: RedisKeys,
    config: AppConfig,
  ) {
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
    this.claimScript = scriptCommand(connections.client, CLAIM);
    this.markSentScript = scriptCommand(connections.client, MARK_SENT);
    this.markFailedScript = scriptCommand(connections.client, MARK_FAILED);
    this.markSuppressedScript = scriptCommand(connections.client, MARK_SUPPRESSED);
  }

  /** Takes an email for delivery (see claim-for-delivery.lua). */
  async claim(emailId: string): Promise<DeliveryClaim> {
    const keys = [
      this.keys.email(emailId),
      this.keys.scheduled(),
      ...this.providerKeys,
      this.keys.deadLetters(),
      this.keys.unfinishedEmails(),
      this.keys.emailMessage(emailId),
    ];
    const reply = await this.claimScript(keys, this.providerArgs);
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

  /** Records a successful send, drops the message and closes the provider's circuit (see mark-sent.lua). */
  async markSent(
    emailId: string,
    sent: { provider: ProviderName; providerMessageId: string; sentAt: number },
  ): Promise<void> {
    await this.markSentScript(
      [
        this.keys.email(emailId),
        this.keys.emailMessage(emailId),
        this.keys.circuit(sent.provider),
        this.keys.providerMessage(sent.provider, sent.providerMessageId),
        this.keys.unfinishedEmails(),
      ],
      [
        sent.provider,
        sent.providerMessageId,
        sent.sentAt,
        this.retentionMs,
        INDEXED_PROVIDERS.has(sent.provider) ? emailId : '',
        emailId,
      ],
    );
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
    await this.markFailedScript(
      [
        this.keys.email(emailId),
        this.keys.emailMessage(emailId),
        this.keys.circuit(failure.provider),
        this.keys.deadLetters(),
        this.keys.unfinishedEmails(),
      ],
      [
        emailId,
        failure.status,
        failure.provider,
        failure.lastError,
        failure.at,
        this.retentionMs,
        failure.permanent ? '1' : '0',
      ],
    );
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
      [this.keys.email(emailId), this.keys.emailMessage(emailId), this.keys.unfinishedEmails()],
      [emailId, JSON.stringify(suppressed), final ? '1' : '0', this.retentionMs],
    );
  }
}
