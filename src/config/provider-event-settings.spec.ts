import { generateKeyPairSync } from 'node:crypto';
import { parseSendGridPublicKey } from './provider-event-settings';

describe('parseSendGridPublicKey', () => {
  it('reads the verification key as SendGrid shows it, or in PEM', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const base64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(parseSendGridPublicKey(base64)?.asymmetricKeyType).toBe('ec');
    expect(parseSendGridPublicKey(` ${base64}\n`)).toBeDefined();
    expect(parseSendGridPublicKey(publicKey.export({ type: 'spki', format: 'pem' }) as string)).toBeDefined();
  });

  it('refuses junk, another curve and another kind of key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    for (const key of [other, rsa])
      expect(parseSendGridPublicKey(key.export({ type: 'spki', format: 'der' }).toString('base64'))).toBe(
        undefined,
      );
    expect(parseSendGridPublicKey('not a key')).toBeUndefined();
    expect(parseSendGridPublicKey('MFkwEwYHKoZIzj0CAQ==')).toBeUndefined();
  });
});
