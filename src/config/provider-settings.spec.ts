import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { EnvSchema } from './env.schema';
import { readProviderSettings } from './provider-settings';

function read(env: Record<string, string>) {
  const errors: string[] = [];
  const settings = readProviderSettings(
    plainToInstance(EnvSchema, env, { exposeDefaultValues: true }),
    env,
    errors,
  );
  return { settings, errors };
}

describe('readProviderSettings', () => {
  it('defaults to SMTP alone', () => {
    const { settings, errors } = read({});
    expect(errors).toEqual([]);
    expect(settings).toMatchObject({ primary: 'smtp', fallbacks: [], enabled: ['smtp'], rateLimits: {} });
  });

  it('reads the chain and enables the providers whose settings are complete', () => {
    const { settings, errors } = read({
      EMAIL_PROVIDER: 'sendgrid',
      SENDGRID_API_KEY: 'SG.key',
      PROVIDER_FALLBACKS: 'smtp',
      MAILGUN_API_KEY: 'key-1',
      MAILGUN_DOMAIN: 'mg.example.com',
    });
    expect(errors).toEqual([]);
    expect(settings.primary).toBe('sendgrid');
    expect(settings.fallbacks).toEqual(['smtp']);
    expect(settings.enabled).toEqual(['smtp', 'sendgrid', 'mailgun']);
    expect(settings.sendgrid).toEqual({ apiKey: 'SG.key', baseUrl: 'https://api.sendgrid.com' });
    expect(settings.mailgun).toEqual({
      apiKey: 'key-1',
      domain: 'mg.example.com',
      url: 'https://api.mailgun.net',
    });
    expect(settings.ses).toBeUndefined();
  });

  it('refuses a selected provider whose settings are missing, naming them', () => {
    expect(read({ EMAIL_PROVIDER: 'ses', PROVIDER_FALLBACKS: 'mailgun' }).errors).toEqual([
      'AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: required because the ses provider is selected',
      'MAILGUN_API_KEY, MAILGUN_DOMAIN: required because the mailgun provider is selected',
    ]);
  });

  it('refuses unknown and repeated fallbacks', () => {
    expect(read({ PROVIDER_FALLBACKS: 'postmark,smtp' }).errors).toEqual([
      'PROVIDER_FALLBACKS: unknown provider "postmark"; expected smtp, sendgrid, mailgun, ses',
      'PROVIDER_FALLBACKS: smtp is named twice in the chain',
    ]);
  });

  it('reads rate limits with their burst', () => {
    const { settings, errors } = read({ RATE_LIMIT_SMTP: '10/s', RATE_LIMIT_SMTP_BURST: '1' });
    expect(errors).toEqual([]);
    expect(settings.rateLimits.smtp).toEqual({ tokensPerMs: 0.01, burst: 1, text: '10/s' });
  });

  it('refuses a malformed rate limit or one for an unknown provider', () => {
    expect(read({ RATE_LIMIT_SMTP: 'fast', RATE_LIMIT_POSTMARK: '1/s' }).errors).toEqual([
      'RATE_LIMIT_SMTP: must look like 10/s, 600/m or 5000/h (and RATE_LIMIT_SMTP_BURST a whole number of at least 1)',
      'RATE_LIMIT_POSTMARK: unknown provider; expected RATE_LIMIT_ followed by SMTP, SENDGRID, MAILGUN, SES',
    ]);
  });
});
