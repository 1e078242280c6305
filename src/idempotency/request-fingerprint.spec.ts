import { canonicalJson, isValidIdempotencyKey, requestFingerprint } from './request-fingerprint';

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('leaves out undefined members, as JSON does', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });
});

describe('requestFingerprint', () => {
  it('is the same for bodies that differ only in key order', () => {
    expect(requestFingerprint('POST', '/api/v1/emails', { to: ['a@x.io'], subject: 's' })).toBe(
      requestFingerprint('POST', '/api/v1/emails', { subject: 's', to: ['a@x.io'] }),
    );
  });

  it('differs for another body, path or method', () => {
    const base = requestFingerprint('POST', '/api/v1/emails', { subject: 's' });
    expect(requestFingerprint('POST', '/api/v1/emails', { subject: 't' })).not.toBe(base);
    expect(requestFingerprint('POST', '/api/v1/emails/batch', { subject: 's' })).not.toBe(base);
    expect(requestFingerprint('PUT', '/api/v1/emails', { subject: 's' })).not.toBe(base);
  });
});

describe('isValidIdempotencyKey', () => {
  it('takes 1 to 255 printable ASCII characters', () => {
    expect(isValidIdempotencyKey('order-42/retry 1')).toBe(true);
    expect(isValidIdempotencyKey('x'.repeat(255))).toBe(true);
    for (const key of ['', 'x'.repeat(256), 'a\nb', 'a\tb', 'clé'])
      expect(isValidIdempotencyKey(key)).toBe(false);
  });
});
