import {
  SESClient,
  SendRawEmailCommand,
  type MessageTag,
  type SendRawEmailCommandOutput,
} from '@aws-sdk/client-ses';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import { PermanentDeliveryError, TransientDeliveryError, type DeliveryError } from './delivery-errors';
import type { EmailProvider, SendResult } from './email-provider';
import { networkFailure } from './http-errors';
import { buildMime, envelopeRecipients } from './mime';
import type { OutboundEmail } from './outbound-email';

/** SES MessageTag names and values: ASCII letters, digits, `_` and `-`, at most 256 characters. */
const TAG_MAX_LENGTH = 256;
const TAG_FORBIDDEN = /[^A-Za-z0-9_-]/g;

/** Makes a string a valid SES tag name or value: each other character becomes `_`, then it is cut to 256. */
export function sesTagText(text: string): string {
  return text.replace(TAG_FORBIDDEN, '_').slice(0, TAG_MAX_LENGTH);
}

/**
 * Our email's tags and metadata as SES message tags (what SES event publishing hands back with each event):
 * `email_id=<id>` first, then `tag_<tag>=1` per tag and `meta_<key>=<value>` per metadata entry. SES refuses the
 * whole send for one bad tag, so every name and value goes through sesTagText (our tags may hold `.` and `:`,
 * metadata keys `.`, metadata values anything up to 500 characters: those characters become `_` and values are
 * cut to 256). An entry whose value is left empty is dropped (SES requires one), and of two entries that end
 * up with the same name the first wins. The request DTO's limits (20 tags, 20 metadata entries) keep the count
 * within what SES takes per message.
 */
export function toSesTags(email: Pick<OutboundEmail, 'id' | 'tags' | 'metadata'>): MessageTag[] {
  const tags = new Map<string, string>();
  const add = (name: string, value: string) => {
    const [safeName, safeValue] = [sesTagText(name), sesTagText(value)];
    if (safeValue && !tags.has(safeName)) tags.set(safeName, safeValue);
  };
  add('email_id', email.id);
  for (const tag of email.tags) add(`tag_${tag}`, '1');
  for (const [key, value] of Object.entries(email.metadata)) add(`meta_${key}`, value);
  return [...tags].map(([Name, Value]) => ({ Name, Value }));
}

/**
 * SES error codes worth another try although SES answers them with a 4xx. Throttling (`Throttling` on the
 * Query API, `ThrottlingException` in the SES guide, `LimitExceeded`...) passes once the rate or the daily
 * quota allows. AccountSendingPaused and ConfigurationSetSendingPaused are a state of our SES account, not a
 * fault of the email: as transient they fail over to the next provider and open SES's circuit, where a
 * permanent verdict would dead-letter every email for as long as sending stays paused. RequestExpired and
 * RequestTimeTooSkewed come from a clock skew that the SDK corrects on the next request.
 */
const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'LimitExceeded',
  'AccountSendingPausedException',
  'ConfigurationSetSendingPausedException',
  'ServiceUnavailable',
  'InternalFailure',
  'RequestTimeout',
  'RequestExpired',
  'RequestTimeTooSkewed',
]);

/** SES's quota messages (`Maximum sending rate exceeded`, `Daily message quota exceeded`), whatever the code. */
const QUOTA_MESSAGE = /rate exceeded|daily message quota exceeded/i;

const MAX_REASON_LENGTH = 500;

/** What the SDK's errors carry: `name` is SES's error code; `$metadata.httpStatusCode` is set once SES answered. */
interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

const requestIdOf = (error: unknown) => (error as SdkError | undefined)?.$metadata?.requestId;

/** The text with every occurrence of the secret replaced. */
export function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}

/**
 * Classifies a failed SendRawEmail by SES's answer: throttling, the codes above, 429 and 5xx are transient;
 * MessageRejected, MailFromDomainNotVerifiedException, ConfigurationSetDoesNotExist, InvalidParameterValue and
 * any other 4xx (403 rejected credentials included, as the API contract has it for every provider) are
 * permanent. No HTTP answer at all (refused, reset, timed out) is a network failure, transient, and so is a
 * 2xx the SDK could not read. The reason is `<status> <code>: <SES's message>`.
 */
export function classifySesError(error: unknown): DeliveryError {
  const sdk = (error ?? {}) as SdkError;
  const status = sdk.$metadata?.httpStatusCode;
  if (status === undefined) return networkFailure('ses', error);
  const code = sdk.Code ?? sdk.name ?? 'Unknown';
  const message = sdk.message ?? '';
  const reason = `${status} ${code}: ${message}`.trim().slice(0, MAX_REASON_LENGTH);
  const transient =
    // Below 400: SES answered with success but the SDK could not read it; at-least-once, send again.
    status < 400 ||
    TRANSIENT_CODES.has(code) ||
    QUOTA_MESSAGE.test(message) ||
    status === 429 ||
    status >= 500 ||
    sdk.$fault === 'server';
  return transient
    ? new TransientDeliveryError('ses', reason, { cause: error })
    : new PermanentDeliveryError('ses', reason, { cause: error });
}

/**
 * Amazon SES through the v3 SDK's SendRawEmail: the MIME we build ourselves (attachments, cc, reply-to, custom
 * headers, X-Email-Id), every recipient as a destination (bcc only there), our tags and metadata as message
 * tags, and SES_CONFIGURATION_SET as the configuration set. SES replaces the Message-ID with its own, so the provider message id is SES's MessageId (the id its
 * bounce and complaint notifications carry); X-Email-Id stays ours.
 */
export class SesProvider implements EmailProvider {
  readonly name = 'ses' as const;
  private readonly client: SESClient;
  private readonly secretAccessKey: string;
  private readonly accessKeyId: string;
  private readonly configurationSet?: string;

  constructor(
    config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    const ses = config.providers.ses;
    if (!ses) throw new Error('SES provider enabled without its settings (AWS_REGION, AWS_ACCESS_KEY_ID, …)');
    this.secretAccessKey = ses.secretAccessKey;
    this.accessKeyId = ses.accessKeyId;
    this.configurationSet = ses.configurationSet;
    this.client = new SESClient({
      region: ses.region,
      credentials: { accessKeyId: ses.accessKeyId, secretAccessKey: ses.secretAccessKey },
      ...(ses.endpoint ? { endpoint: ses.endpoint } : {}),
      // One HTTP request per attempt: our queue retries with backoff and fails over to the next provider;
      // SDK retries inside an attempt would hide failures from the circuit breaker and multiply load.
      maxAttempts: 1,
      // A hung connection must not hold a worker slot for the SDK's default five minutes.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
    });
  }

  async send(email: OutboundEmail): Promise<SendResult> {
    let raw: Buffer;
    try {
      raw = await buildMime(email);
    } catch (error) {
      // The content itself cannot be put into MIME: no retry or other provider will change that.
      const message = error instanceof Error ? error.message : String(error);
      throw new PermanentDeliveryError('ses', `cannot build the message: ${message}`, { cause: error });
    }
    let result: SendRawEmailCommandOutput;
    try {
      result = await this.client.send(
        new SendRawEmailCommand({
          RawMessage: { Data: raw },
          Destinations: envelopeRecipients(email),
          Source: email.from.email,
          Tags: toSesTags(email),
          // From configuration only: an X-SES-CONFIGURATION-SET header would let a caller pick it, and is refused.
          ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
        }),
      );
    } catch (error) {
      const failure = classifySesError(error);
      // SES never echoes the secret key, but the reason is stored, logged and shown: make sure of it. The key
      // id is not a secret to AWS, but it names our IAM user to anyone who reads the reason (secret scanners
      // flag it too), and an error body may carry it (S3's InvalidAccessKeyId does): it is cut out as well.
      failure.message = redact(redact(failure.message, this.secretAccessKey), this.accessKeyId);
      // SES's request id is what AWS support asks for; delivery logs the verdict itself.
      this.logger.debug({ sesRequestId: requestIdOf(error) }, 'SES SendRawEmail failed');
      throw failure;
    }
    this.logger.debug({ sesRequestId: result.$metadata.requestId }, 'SES accepted SendRawEmail');
    if (!result.MessageId)
      throw new TransientDeliveryError('ses', 'SES answered SendRawEmail without a MessageId');
    return { providerMessageId: result.MessageId };
  }

  /**
   * Resolves the client's region and credentials, with no call to SES: GetSendQuota would need an IAM
   * permission that a least-privilege, send-only policy (ses:SendRawEmail) does not grant, and a failing
   * check at start would then stop a worker that can send perfectly well.
   */
  async verify(): Promise<void> {
    await this.client.config.region();
    await this.client.config.credentials();
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
