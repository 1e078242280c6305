import { generateToken } from '../common/token-format';
import { ServiceTokenVerifier } from '../auth/service-token.verifier';
import type { AppConfig } from '../config/app-config';
import { loadConfig } from '../config/load-config';
import { smtpLogin } from './smtp-authenticator';

const billing = generateToken('dev');
const reports = generateToken('dev');
const config = loadConfig(
  {
    ENVIRONMENT: 'development',
    SERVICE_TOKEN_BILLING_API_PRIMARY: billing,
    SERVICE_TOKEN_REPORTS_PRIMARY: reports,
    SERVICE_TOKEN_REPORTS_SCOPES: 'read',
  },
  new Set(['smtp']),
);
const verifier = new ServiceTokenVerifier(config);

describe('smtpLogin', () => {
  it("takes the service's name and its token, whatever the case or _ of the name", () => {
    for (const user of ['billing-api', 'BILLING_API', ' Billing-Api '])
      expect(smtpLogin(user, billing, verifier, config.auth)).toEqual({
        ok: true,
        caller: { service: 'billing-api', scopes: new Set(['send', 'read']), isAdmin: false },
      });
  });

  it('refuses a malformed or unknown token, another service’s token, and a token without send', () => {
    expect(smtpLogin('billing-api', 'st_dev_nope', verifier, config.auth)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(smtpLogin('billing-api', generateToken('dev'), verifier, config.auth)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(smtpLogin('reports', billing, verifier, config.auth)).toEqual({
      ok: false,
      reason: 'wrong-service',
    });
    expect(smtpLogin('reports', reports, verifier, config.auth)).toEqual({
      ok: false,
      reason: 'no-send-scope',
    });
  });

  it('lets anyone in as anonymous when authentication is off (development)', () => {
    const open = { ...config.auth, enabled: false } as AppConfig['auth'];
    expect(smtpLogin('whoever', 'whatever', verifier, open)).toMatchObject({
      ok: true,
      caller: { service: 'anonymous' },
    });
  });
});
