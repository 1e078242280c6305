import { createPublicKey, type KeyObject } from 'node:crypto';
import type { RateLimit } from '../common/rate';
import { API_RATE_LIMIT_HINT, parseApiRateLimit } from './api-limits';
import type { EnvSchema } from './env.schema';

/** What verifies providers' event callbacks; a provider without its setting has its callbacks refused. */
export interface ProviderEventSettings {
  /** `MAILGUN_WEBHOOK_SIGNING_KEY`. */
  mailgunSigningKey?: string;
  /** `SENDGRID_WEBHOOK_PUBLIC_KEY`: the ECDSA P-256 key that verifies SendGrid's signed Event Webhook. */
  sendgridPublicKey?: KeyObject;
  /** `SES_SNS_TOPIC_ARNS`: the SNS topics whose SES events are accepted; empty: none. */
  sesTopicArns: readonly string[];
  /** `SNS_CERT_URL_PATTERN`, as configured (it compiles). */
  snsCertUrlPattern: string;
  /** `PROVIDER_CALLBACK_MAX_BODY_BYTES`: the callback routes' body limit. */
  maxBodyBytes: number;
  /** `PROVIDER_CALLBACK_RATE_LIMIT`: callbacks per client address; absent: unlimited. */
  rateLimit?: RateLimit;
}

const TOPIC_ARN = /^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** Reads and checks the settings of the provider callbacks, naming each bad variable (never its value). */
export function readProviderEventSettings(
  env: EnvSchema,
  httpsRequired: boolean,
  errors: string[],
): ProviderEventSettings {
  const sendgridPublicKey = env.SENDGRID_WEBHOOK_PUBLIC_KEY
    ? parseSendGridPublicKey(env.SENDGRID_WEBHOOK_PUBLIC_KEY)
    : undefined;
  if (env.SENDGRID_WEBHOOK_PUBLIC_KEY && !sendgridPublicKey) {
    errors.push(
      'SENDGRID_WEBHOOK_PUBLIC_KEY: must be the verification key SendGrid shows for the signed Event Webhook ' +
        '(base64 of an ECDSA P-256 public key)',
    );
  }
  const sesTopicArns = (env.SES_SNS_TOPIC_ARNS ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter(Boolean);
  if (!sesTopicArns.every((arn) => TOPIC_ARN.test(arn))) {
    errors.push(
      'SES_SNS_TOPIC_ARNS: must be a comma list of SNS topic ARNs (arn:aws:sns:<region>:<account id>:<topic>)',
    );
  }
  try {
    new RegExp(env.SNS_CERT_URL_PATTERN);
    // Over plain http, a certificate (and so every signature) could be swapped on the way.
    if (httpsRequired && !env.SNS_CERT_URL_PATTERN.startsWith('^https://'))
      errors.push('SNS_CERT_URL_PATTERN: must start with ^https:// outside development');
  } catch {
    errors.push('SNS_CERT_URL_PATTERN: must be a valid regular expression');
  }
  const rateLimit = parseApiRateLimit(env.PROVIDER_CALLBACK_RATE_LIMIT);
  if (!rateLimit) errors.push(`PROVIDER_CALLBACK_RATE_LIMIT: ${API_RATE_LIMIT_HINT}`);
  return {
    ...(env.MAILGUN_WEBHOOK_SIGNING_KEY ? { mailgunSigningKey: env.MAILGUN_WEBHOOK_SIGNING_KEY } : {}),
    ...(sendgridPublicKey ? { sendgridPublicKey } : {}),
    sesTopicArns,
    snsCertUrlPattern: env.SNS_CERT_URL_PATTERN,
    maxBodyBytes: env.PROVIDER_CALLBACK_MAX_BODY_BYTES,
    ...(rateLimit && rateLimit !== 'unlimited' ? { rateLimit } : {}),
  };
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The verification key as SendGrid's console shows it (base64 of the DER SubjectPublicKeyInfo, or the same in
 * PEM); undefined unless it is an ECDSA P-256 public key, the only kind SendGrid signs with.
 */
export function parseSendGridPublicKey(text: string): KeyObject | undefined {
  const trimmed = text.trim();
  try {
    const key = trimmed.startsWith('-----BEGIN PUBLIC KEY-----')
      ? createPublicKey(trimmed)
      : BASE64.test(trimmed)
        ? createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' })
        : undefined;
    return key?.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      ? key
      : undefined;
  } catch {
    return undefined;
  }
}
