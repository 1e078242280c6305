import type { AppConfig, ServiceCredentials } from '../config/app-config';
import { tokenDigest } from '../config/service-tokens';
import { ServiceTokenVerifier } from './service-token.verifier';
import { generateToken } from '../common/token-format';

// @nestjs/common 12 is an ES module, which Jest can only load with --experimental-vm-modules; the verifier
// uses nothing of it but the @Injectable() marker.
const billingPrimary = generateToken('dev');
const billingSecondary = generateToken('dev');
const opsPrimary = generateToken('dev');

const billing: ServiceCredentials = {
  service: 'billing-api',
  tokenDigests: [tokenDigest(billingPrimary), tokenDigest(billingSecondary)],
  scopes: new Set(['send', 'read']),
};
const ops: ServiceCredentials = {
  service: 'ops',
  tokenDigests: [tokenDigest(opsPrimary)],
  scopes: new Set(['admin']),
};

const verifierFor = (services: ServiceCredentials[], tokenPrefix = 'st_dev_') =>
  new ServiceTokenVerifier({ auth: { enabled: true, tokenPrefix, services } } as unknown as AppConfig);

describe('ServiceTokenVerifier', () => {
  const verifier = verifierFor([billing, ops]);

  it('accepts the PRIMARY token and names its service', () => {
    expect(verifier.check(billingPrimary)).toEqual({ outcome: 'valid', credentials: billing });
  });

  it('accepts the SECONDARY token as the same service during rotation', () => {
    expect(verifier.check(billingSecondary)).toEqual({ outcome: 'valid', credentials: billing });
  });

  it('tells services apart by their token', () => {
    expect(verifier.check(opsPrimary)).toEqual({ outcome: 'valid', credentials: ops });
  });

  it('calls a well-formed token that no service has unknown', () => {
    expect(verifier.check(generateToken('dev'))).toEqual({ outcome: 'unknown' });
  });

  it('calls every token unknown when no service is configured', () => {
    expect(verifierFor([]).check(billingPrimary)).toEqual({ outcome: 'unknown' });
  });

  it('calls a token with a wrong checksum malformed', () => {
    const mistyped = billingPrimary.slice(0, -1) + (billingPrimary.endsWith('a') ? 'b' : 'a');
    expect(verifier.check(mistyped)).toEqual({ outcome: 'malformed' });
  });

  it('calls a token of the other environment malformed', () => {
    expect(verifier.check(generateToken('live'))).toEqual({ outcome: 'malformed' });
  });

  it('calls garbage, a truncated token and the empty string malformed', () => {
    expect(verifier.check('hunter2')).toEqual({ outcome: 'malformed' });
    expect(verifier.check(billingPrimary.slice(0, -2))).toEqual({ outcome: 'malformed' });
    expect(verifier.check('')).toEqual({ outcome: 'malformed' });
  });

  it('checks against the configured prefix', () => {
    const live = generateToken('live');
    const liveVerifier = verifierFor([{ ...billing, tokenDigests: [tokenDigest(live)] }], 'st_live_');
    expect(liveVerifier.check(live)).toEqual({
      outcome: 'valid',
      credentials: { ...billing, tokenDigests: [tokenDigest(live)] },
    });
    expect(liveVerifier.check(billingPrimary)).toEqual({ outcome: 'malformed' });
  });
});
