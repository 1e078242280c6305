import { createHash } from 'node:crypto';
import { generateToken } from '../common/token-format';
import type { RateLimit } from '../common/rate';
import { isServiceTokenVariable, readServiceCredentials, serviceNameOf, tokenDigest } from './service-tokens';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

function read(
  env: Record<string, string | undefined>,
  prefix = 'st_dev_',
  defaultRateLimit?: RateLimit,
  defaultByteQuota?: number,
) {
  const errors: string[] = [];
  const services = readServiceCredentials(env, prefix, errors, defaultRateLimit, defaultByteQuota);
  return { services, errors };
}

describe('serviceNameOf', () => {
  it('lower-cases the variable part and turns _ into -', () => {
    expect(serviceNameOf('BILLING_API')).toBe('billing-api');
    expect(serviceNameOf('CRM')).toBe('crm');
    expect(serviceNameOf('A_B_C2')).toBe('a-b-c2');
  });
});

describe('tokenDigest', () => {
  it('is the SHA-256 of the token text', () => {
    expect(tokenDigest('abc').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('readServiceCredentials', () => {
  const billing = generateToken('dev');
  const billingNext = generateToken('dev');
  const crm = generateToken('dev');

  it('reads one service from its PRIMARY token with the default scopes send and read', () => {
    const { services, errors } = read({ SERVICE_TOKEN_BILLING_API_PRIMARY: billing });
    expect(errors).toEqual([]);
    expect(services).toEqual([
      { service: 'billing-api', tokenDigests: [sha256(billing)], scopes: new Set(['send', 'read']) },
    ]);
  });

  it('keeps PRIMARY and SECONDARY digests so that both are valid during rotation', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_SECONDARY: billingNext,
    });
    expect(errors).toEqual([]);
    expect(services[0]!.tokenDigests).toEqual([sha256(billing), sha256(billingNext)]);
  });

  it('keeps only digests, never the raw token', () => {
    const { services } = read({ SERVICE_TOKEN_BILLING_PRIMARY: billing });
    expect(JSON.stringify(services)).not.toContain(billing);
    expect(services[0]!.tokenDigests[0]!.includes(Buffer.from(billing))).toBe(false);
  });

  it('returns the services sorted by name', () => {
    const { services } = read({ SERVICE_TOKEN_ZETA_PRIMARY: billing, SERVICE_TOKEN_ALPHA_PRIMARY: crm });
    expect(services.map((s) => s.service)).toEqual(['alpha', 'zeta']);
  });

  it('trims spaces around tokens and scopes', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: `  ${billing}\n`,
      SERVICE_TOKEN_BILLING_SCOPES: ' read ',
    });
    expect(errors).toEqual([]);
    expect(services[0]!.tokenDigests).toEqual([sha256(billing)]);
    expect(services[0]!.scopes).toEqual(new Set(['read']));
  });

  it('parses a comma list of scopes, ignoring case and spaces', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_OPS_PRIMARY: billing,
      SERVICE_TOKEN_OPS_SCOPES: 'send, READ ,admin',
    });
    expect(errors).toEqual([]);
    expect(services[0]!.scopes).toEqual(new Set(['send', 'read', 'admin']));
  });

  it('grants only the scopes listed', () => {
    const { services } = read({ SERVICE_TOKEN_OPS_PRIMARY: billing, SERVICE_TOKEN_OPS_SCOPES: 'admin' });
    expect(services[0]!.scopes).toEqual(new Set(['admin']));
  });

  it('ignores an empty entry in the scope list', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_OPS_PRIMARY: billing,
      SERVICE_TOKEN_OPS_SCOPES: 'send,',
    });
    expect(errors).toEqual([]);
    expect(services[0]!.scopes).toEqual(new Set(['send']));
  });

  it('names an unknown scope and its variable', () => {
    const { errors } = read({ SERVICE_TOKEN_OPS_PRIMARY: billing, SERVICE_TOKEN_OPS_SCOPES: 'send,write' });
    expect(errors).toEqual([
      'SERVICE_TOKEN_OPS_SCOPES: unknown scope "write"; expected a comma list of send, read, admin',
    ]);
  });

  it('refuses a malformed token by its variable name, without the value', () => {
    const { errors } = read({ SERVICE_TOKEN_BILLING_PRIMARY: 'not-a-token-hunter2' });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_PRIMARY: must be a well-formed st_dev_ token with a valid checksum (npm run token:generate)',
    ]);
  });

  it('refuses a token whose checksum does not match', () => {
    const mistyped = billing.slice(0, 10) + (billing[10] === 'a' ? 'b' : 'a') + billing.slice(11);
    const { errors } = read({
      SERVICE_TOKEN_BILLING_SECONDARY: mistyped,
      SERVICE_TOKEN_BILLING_PRIMARY: crm,
    });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_SECONDARY: must be a well-formed st_dev_ token with a valid checksum (npm run token:generate)',
    ]);
    expect(errors.join('\n')).not.toContain(mistyped);
  });

  it('refuses a token of the other environment, naming the expected prefix', () => {
    const { errors } = read({ SERVICE_TOKEN_BILLING_PRIMARY: billing }, 'st_live_');
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_PRIMARY: must be a well-formed st_live_ token with a valid checksum (npm run token:generate)',
    ]);
  });

  it('accepts live tokens with the st_live_ prefix', () => {
    const live = generateToken('live');
    const { services, errors } = read({ SERVICE_TOKEN_BILLING_PRIMARY: live }, 'st_live_');
    expect(errors).toEqual([]);
    expect(services[0]!.tokenDigests).toEqual([sha256(live)]);
  });

  it('refuses one token configured for two services, naming where it was seen first', () => {
    const { errors } = read({ SERVICE_TOKEN_CRM_PRIMARY: billing, SERVICE_TOKEN_BILLING_PRIMARY: billing });
    expect(errors).toEqual([
      'SERVICE_TOKEN_CRM_PRIMARY: the same token is already configured as SERVICE_TOKEN_BILLING_PRIMARY',
    ]);
    expect(errors.join('\n')).not.toContain(billing);
  });

  it('refuses the same token as PRIMARY and SECONDARY of one service', () => {
    const { errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_SECONDARY: billing,
    });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_SECONDARY: the same token is already configured as SERVICE_TOKEN_BILLING_PRIMARY',
    ]);
  });

  it('requires PRIMARY when only SECONDARY is set', () => {
    const { services, errors } = read({ SERVICE_TOKEN_BILLING_SECONDARY: billing });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_PRIMARY: is required when other SERVICE_TOKEN_BILLING_* variables are set',
    ]);
    expect(services).toEqual([]);
  });

  it('requires PRIMARY when only SCOPES is set', () => {
    const { errors } = read({ SERVICE_TOKEN_BILLING_SCOPES: 'send' });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_PRIMARY: is required when other SERVICE_TOKEN_BILLING_* variables are set',
    ]);
  });

  it('lists every problem of every service at once', () => {
    const { errors } = read({
      SERVICE_TOKEN_A_PRIMARY: 'bad',
      SERVICE_TOKEN_A_SCOPES: 'root',
      SERVICE_TOKEN_B_SECONDARY: billing,
    });
    expect(errors).toEqual([
      'SERVICE_TOKEN_A_PRIMARY: must be a well-formed st_dev_ token with a valid checksum (npm run token:generate)',
      'SERVICE_TOKEN_A_SCOPES: unknown scope "root"; expected a comma list of send, read, admin',
      'SERVICE_TOKEN_B_PRIMARY: is required when other SERVICE_TOKEN_B_* variables are set',
    ]);
  });

  it('reads RATE_LIMIT as a bucket of N calls refilled at N per unit', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_RATE_LIMIT: '30/m',
    });
    expect(errors).toEqual([]);
    expect(services[0]!.rateLimit).toEqual({ tokensPerMs: 0.0005, burst: 30, text: '30/m' });
  });

  it('gives the default limit to services without their own, and none to an unlimited one', () => {
    const fallback: RateLimit = { tokensPerMs: 0.1, burst: 6000, text: '6000/m' };
    const { services, errors } = read(
      {
        SERVICE_TOKEN_BILLING_PRIMARY: billing,
        SERVICE_TOKEN_CRM_PRIMARY: crm,
        SERVICE_TOKEN_CRM_RATE_LIMIT: 'unlimited',
        SERVICE_TOKEN_OPS_PRIMARY: billingNext,
        SERVICE_TOKEN_OPS_RATE_LIMIT: '5/s',
      },
      'st_dev_',
      fallback,
    );
    expect(errors).toEqual([]);
    expect(services.map((s) => [s.service, s.rateLimit?.text])).toEqual([
      ['billing', '6000/m'],
      ['crm', undefined],
      ['ops', '5/s'],
    ]);
    expect('rateLimit' in services[1]!).toBe(false);
  });

  it('reads DAILY_QUOTA as a whole number of emails', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_DAILY_QUOTA: ' 1000 ',
    });
    expect(errors).toEqual([]);
    expect(services[0]!.dailyQuota).toBe(1000);
  });

  it('reads DAILY_BYTE_QUOTA as bytes or unlimited, else gives the default', () => {
    const { services, errors } = read(
      {
        SERVICE_TOKEN_BILLING_PRIMARY: billing,
        SERVICE_TOKEN_BILLING_DAILY_BYTE_QUOTA: '2048',
        SERVICE_TOKEN_CRM_PRIMARY: crm,
        SERVICE_TOKEN_OPS_PRIMARY: billingNext,
        SERVICE_TOKEN_OPS_DAILY_BYTE_QUOTA: 'unlimited',
      },
      'st_dev_',
      undefined,
      1000,
    );
    expect(errors).toEqual([]);
    expect(services.map((s) => [s.service, s.dailyByteQuota])).toEqual([
      ['billing', 2048],
      ['crm', 1000],
      ['ops', undefined],
    ]);
    expect('dailyByteQuota' in services[2]!).toBe(false);
  });

  it('names a bad RATE_LIMIT or DAILY_QUOTA by its variable, without the value', () => {
    const { errors } = read({
      SERVICE_TOKEN_BILLING_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_RATE_LIMIT: 'lots',
      SERVICE_TOKEN_BILLING_DAILY_QUOTA: '1.5',
    });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_RATE_LIMIT: must look like 50/s, 600/m or 5000/h, or be unlimited',
      'SERVICE_TOKEN_BILLING_DAILY_QUOTA: must be a whole number of emails of at least 1',
    ]);
  });

  it('requires PRIMARY when only a limit is set', () => {
    const { errors } = read({ SERVICE_TOKEN_BILLING_RATE_LIMIT: '10/s' });
    expect(errors).toEqual([
      'SERVICE_TOKEN_BILLING_PRIMARY: is required when other SERVICE_TOKEN_BILLING_* variables are set',
    ]);
  });

  it('splits a NAME ending like a setting at the last setting: BILLING_RATE_LIMIT_PRIMARY', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_BILLING_RATE_LIMIT_PRIMARY: billing,
      SERVICE_TOKEN_BILLING_RATE_LIMIT_RATE_LIMIT: '1/s',
    });
    expect(errors).toEqual([]);
    expect(services.map((s) => [s.service, s.rateLimit?.text])).toEqual([['billing-rate-limit', '1/s']]);
  });

  it('ignores variables that are not SERVICE_TOKEN_<NAME>_{PRIMARY,SECONDARY,SCOPES}', () => {
    const { services, errors } = read({
      SERVICE_TOKEN_PREFIX: 'st_dev_',
      SERVICE_TOKEN_BILLING_PRIMARY_FILE: '/run/secrets/billing',
      service_token_billing_primary: billing,
      SERVICE_TOKEN__PRIMARY: billing,
      SERVICE_TOKEN_BILLING_TERTIARY: billing,
      SERVICE_TOKEN_CRM_PRIMARY: undefined,
    });
    expect(errors).toEqual([]);
    expect(services).toEqual([]);
  });
});

describe('isServiceTokenVariable', () => {
  it('knows every per-service setting', () => {
    for (const part of ['PRIMARY', 'SECONDARY', 'SCOPES', 'RATE_LIMIT', 'DAILY_QUOTA'])
      expect(isServiceTokenVariable(`SERVICE_TOKEN_BILLING_API_${part}`)).toBe(true);
  });

  it('refuses other names, the prefix setting and _FILE variants included', () => {
    for (const name of [
      'SERVICE_TOKEN_PREFIX',
      'SERVICE_TOKEN_BILLING_PRIMARY_FILE',
      'SERVICE_TOKEN_BILLING_LIMIT',
      'SERVICE_TOKEN__PRIMARY',
      'service_token_billing_primary',
    ])
      expect(isServiceTokenVariable(name)).toBe(false);
  });
});
