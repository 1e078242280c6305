import { randomBytes } from 'node:crypto';
import { generateToken } from '../../src/common/token-format';
import { TOKENS } from './fixtures';

/** `bytes` random bytes as hex. */
export const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * Every secret FreeFace is given, besides the service tokens (TOKENS) and a webhook's signing secret. Each is
 * random per run, so that finding one anywhere can only mean it leaked from this run.
 */
export const SECRETS = {
  smtpPassword: `smtp-${hex(12)}`,
  sendgridApiKey: `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
  mailgunApiKey: `key-${hex(16)}`,
  mailgunWebhookSigningKey: `whk-${hex(16)}`,
  // AWS secret keys are 40 characters of base64, `/` and `+` included (they change under URL encoding).
  awsSecretAccessKey: `${randomBytes(27).toString('base64').slice(0, 36)}/+x${hex(1).slice(0, 1)}`,
  awsAccessKeyId: `AKIA${hex(8).toUpperCase()}`,
  dashboardPassword: `dash-${hex(12)}`,
  redisPassword: `redis-${hex(12)}`,
  webhookSecretsKey: randomBytes(32).toString('base64'),
};
export const SMTP_USER = 'freeface-relay';
export const DASHBOARD_USER = 'ops';
export const MAILGUN_DOMAIN = 'mg.freeface.test';
export const AWS_REGION = 'eu-west-1';

/** Wrong credentials a caller might present: not secrets, but they must not be written down either. */
export const WRONG = {
  /** Well-formed, checksum right, unknown to the service. */
  unknownToken: generateToken('dev'),
  /** The real token with its checksum mistyped: its first 34 characters are the real token's. */
  mistypedToken: TOKENS.billing.slice(0, -6) + 'AAAAAA',
  /** A token of the other environment. */
  liveToken: generateToken('live'),
  /** A wrong dashboard password, and one that contains the real one. */
  dashboardPassword: `wrong-${hex(8)}`,
  dashboardPasswordWithRealOne: `${SECRETS.dashboardPassword}!`,
};
