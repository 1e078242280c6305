import { parseRateLimit, type RateLimit } from '../common/rate';
import { PROVIDER_NAMES, type EnvSchema, type ProviderName } from './env.schema';

export interface ProviderSettings {
  /** `EMAIL_PROVIDER`: the first provider of the chain. */
  primary: ProviderName;
  /** `PROVIDER_FALLBACKS`, in order: the next provider after a transient failure. */
  fallbacks: ProviderName[];
  /** Every provider this process can send through: the chain, and any other whose settings are complete. */
  enabled: ProviderName[];
  sendgrid?: { apiKey: string; baseUrl: string };
  mailgun?: { apiKey: string; domain: string; url: string };
  ses?: {
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    endpoint?: string;
    /** `SES_CONFIGURATION_SET`, named on every send. */
    configurationSet?: string;
  };
  /** `RATE_LIMIT_<PROVIDER>` with `_BURST`, per provider that has one. */
  rateLimits: Partial<Record<ProviderName, RateLimit>>;
  circuit: { failureThreshold: number; cooldownMs: number };
}

const isProviderName = (name: string): name is ProviderName =>
  (PROVIDER_NAMES as readonly string[]).includes(name);

/** The variables each provider needs, and whether they are all set. */
function requirements(env: EnvSchema): Record<ProviderName, { variables: string[]; missing: string[] }> {
  const check = (variables: string[]) => ({
    variables,
    missing: variables.filter((name) => !env[name as keyof EnvSchema]),
  });
  return {
    smtp: check(['SMTP_HOST']),
    sendgrid: check(['SENDGRID_API_KEY']),
    mailgun: check(['MAILGUN_API_KEY', 'MAILGUN_DOMAIN']),
    ses: check(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']),
  };
}

/**
 * Reads the provider chain, each provider's settings and the rate limits. A provider of the chain whose
 * settings are incomplete stops the process, naming the missing variables.
 */
export function readProviderSettings(
  env: EnvSchema,
  rawEnv: Readonly<Record<string, string>>,
  errors: string[],
): ProviderSettings {
  const fallbacks: ProviderName[] = [];
  for (const name of (env.PROVIDER_FALLBACKS ?? '').split(',').map((s) => s.trim().toLowerCase())) {
    if (!name) continue;
    if (!isProviderName(name))
      errors.push(`PROVIDER_FALLBACKS: unknown provider "${name}"; expected ${PROVIDER_NAMES.join(', ')}`);
    else if (name === env.EMAIL_PROVIDER || fallbacks.includes(name))
      errors.push(`PROVIDER_FALLBACKS: ${name} is named twice in the chain`);
    else fallbacks.push(name);
  }

  const needs = requirements(env);
  // An unknown EMAIL_PROVIDER is already reported by the schema; the chain is then checked without it.
  const chain = [env.EMAIL_PROVIDER, ...fallbacks].filter(isProviderName);
  for (const name of chain) {
    if (needs[name].missing.length > 0) {
      errors.push(`${needs[name].missing.join(', ')}: required because the ${name} provider is selected`);
    }
  }
  const enabled = PROVIDER_NAMES.filter(
    (name) => chain.includes(name) || (name !== 'smtp' && needs[name].missing.length === 0),
  );

  const rateLimits: ProviderSettings['rateLimits'] = {};
  for (const [key, value] of Object.entries(rawEnv)) {
    const match = /^RATE_LIMIT_([A-Z]+)$/.exec(key);
    if (!match) continue;
    const name = match[1]!.toLowerCase();
    if (!isProviderName(name)) {
      errors.push(
        `${key}: unknown provider; expected RATE_LIMIT_ followed by ${PROVIDER_NAMES.join(', ').toUpperCase()}`,
      );
      continue;
    }
    const limit = parseRateLimit(value, rawEnv[`${key}_BURST`]);
    if (limit) rateLimits[name] = limit;
    else
      errors.push(
        `${key}: must look like 10/s, 600/m or 5000/h (and ${key}_BURST a whole number of at least 1)`,
      );
  }

  return {
    primary: env.EMAIL_PROVIDER,
    fallbacks,
    enabled,
    ...(enabled.includes('sendgrid')
      ? { sendgrid: { apiKey: env.SENDGRID_API_KEY!, baseUrl: env.SENDGRID_BASE_URL } }
      : {}),
    ...(enabled.includes('mailgun')
      ? { mailgun: { apiKey: env.MAILGUN_API_KEY!, domain: env.MAILGUN_DOMAIN!, url: env.MAILGUN_URL } }
      : {}),
    ...(enabled.includes('ses')
      ? {
          ses: {
            region: env.AWS_REGION!,
            accessKeyId: env.AWS_ACCESS_KEY_ID!,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
            ...(env.SES_ENDPOINT ? { endpoint: env.SES_ENDPOINT } : {}),
            ...(env.SES_CONFIGURATION_SET ? { configurationSet: env.SES_CONFIGURATION_SET } : {}),
          },
        }
      : {}),
    rateLimits,
    circuit: { failureThreshold: env.CIRCUIT_FAILURE_THRESHOLD, cooldownMs: env.CIRCUIT_COOLDOWN_MS },
  };
}
