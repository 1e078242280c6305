import { generateKeyPairSync, sign } from 'node:crypto';
import {
  fromSendGridEvent,
  isSendGridSignatureValid,
  parseSendGridPublicKey,
  SENDGRID_SIGNATURE_MAX_AGE_MS,
} from './sendgrid-events';

const EMAIL_ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

/** A key pair like the one SendGrid makes when the signed Event Webhook is turned on. */
function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // What the console shows as the verification key: base64 of the DER SubjectPublicKeyInfo.
  const shown = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { shown, privateKey };
}

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

describe('isSendGridSignatureValid', () => {
  const now = 1_795_000_000_000;
  const timestamp = String(now / 1000);
  const { shown, privateKey } = keyPair();
  const key = parseSendGridPublicKey(shown)!;
  // Spacing and escapes as SendGrid sends them: the bytes, not the parsed JSON, are signed.
  const rawBody = Buffer.from(
    '[{"email":"ana@example.com","event":"delivered","sg_event_id":"ZGVsaXZlcmVk","email_id":"x\\u00e9"}]\r\n',
  );
  const signed = (ts = timestamp, body = rawBody, signer = privateKey) =>
    sign('sha256', Buffer.concat([Buffer.from(ts), body]), signer).toString('base64');

  it('accepts what SendGrid signs: ECDSA P-256 / SHA-256 over the timestamp followed by the raw body', () => {
    expect(isSendGridSignatureValid({ signature: signed(), timestamp, rawBody }, key, now)).toBe(true);
  });

  it('refuses another key, a changed body or timestamp, a body parsed and serialised again, or junk', () => {
    const other = keyPair().privateKey;
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString())));
    const moved = String(Number(timestamp) + 1);
    const cases = [
      { signature: signed(timestamp, rawBody, other), timestamp, rawBody },
      { signature: signed(), timestamp, rawBody: Buffer.concat([rawBody, Buffer.from(' ')]) },
      { signature: signed(), timestamp, rawBody: reserialised },
      { signature: signed(), timestamp: moved, rawBody },
      { signature: signed(), timestamp, rawBody: undefined },
      { signature: undefined, timestamp, rawBody },
      { signature: signed(), timestamp: undefined, rawBody },
      { signature: 'bm90IGEgc2lnbmF0dXJl', timestamp, rawBody },
      { signature: '%%%', timestamp, rawBody },
    ];
    for (const candidate of cases) expect(isSendGridSignatureValid(candidate, key, now)).toBe(false);
  });

  it('refuses a batch signed more than five minutes away from now (a replay)', () => {
    const old = String((now - SENDGRID_SIGNATURE_MAX_AGE_MS - 1000) / 1000);
    expect(isSendGridSignatureValid({ signature: signed(old), timestamp: old, rawBody }, key, now)).toBe(
      false,
    );
    const recent = String((now - SENDGRID_SIGNATURE_MAX_AGE_MS + 1000) / 1000);
    expect(
      isSendGridSignatureValid({ signature: signed(recent), timestamp: recent, rawBody }, key, now),
    ).toBe(true);
  });
});

describe('fromSendGridEvent', () => {
  const base = {
    email: 'ana@example.com',
    timestamp: 1_795_000_000,
    sg_event_id: 'rbtnWrG1DVDGGGFHFyun0A',
    sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    email_id: EMAIL_ID,
  };

  it('maps delivered, hard bounces and spam reports onto our email, by the email_id custom argument', () => {
    expect(fromSendGridEvent({ ...base, event: 'delivered', response: '250 OK' })).toEqual({
      provider: 'sendgrid',
      eventId: base.sg_event_id,
      kind: 'delivered',
      emailId: EMAIL_ID,
      recipient: 'ana@example.com',
      code: 250,
    });
    expect(
      fromSendGridEvent({
        ...base,
        event: 'bounce',
        type: 'bounce',
        status: '5.1.1',
        reason: '550 5.1.1 The email account that you tried to reach does not exist.',
      }),
    ).toMatchObject({ kind: 'bounced', code: 550 });
    expect(fromSendGridEvent({ ...base, event: 'spamreport' })).toMatchObject({ kind: 'complained' });
  });

  it('maps a drop for an earlier bounce or invalid address to bounced, for an earlier spam report to complained', () => {
    expect(fromSendGridEvent({ ...base, event: 'dropped', reason: 'Bounced Address' })).toMatchObject({
      kind: 'bounced',
    });
    expect(fromSendGridEvent({ ...base, event: 'dropped', reason: 'Invalid' })).toMatchObject({
      kind: 'bounced',
    });
    expect(fromSendGridEvent({ ...base, event: 'dropped', reason: 'Spam Reporting Address' })).toMatchObject({
      kind: 'complained',
    });
  });

  it('ignores blocks, other drops, other events, events without an id and mail we did not send', () => {
    const ignored = [
      { ...base, event: 'bounce', type: 'blocked', reason: '421 try again later' },
      { ...base, event: 'bounce' },
      { ...base, event: 'dropped', reason: 'Unsubscribed Address' },
      { ...base, event: 'dropped', reason: 'Spam Content (if Spam Checker app is enabled)' },
      { ...base, event: 'deferred', response: '400 try again later' },
      { ...base, event: 'processed' },
      { ...base, event: 'open' },
      { ...base, event: 'delivered', sg_event_id: undefined },
      { ...base, event: 'delivered', email_id: undefined },
      { ...base, event: 'delivered', email_id: '../x' },
      { ...base, event: 'delivered', email: 42 },
      'delivered',
      null,
      [base],
    ];
    for (const event of ignored) expect(fromSendGridEvent(event)).toBeUndefined();
  });
});
