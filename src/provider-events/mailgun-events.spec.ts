import { createHmac } from 'node:crypto';
import { fromMailgunEvent, isMailgunSignatureValid, MAILGUN_SIGNATURE_MAX_AGE_MS } from './mailgun-events';

const KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const EMAIL_ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

function signed(timestamp: string, token = 'a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0', key = KEY) {
  return {
    timestamp,
    token,
    signature: createHmac('sha256', key)
      .update(timestamp + token)
      .digest('hex'),
  };
}

describe('isMailgunSignatureValid', () => {
  const now = 1_795_000_000_000;
  const timestamp = String(now / 1000);

  it('accepts what Mailgun signs: HMAC-SHA256 of timestamp + token with the signing key', () => {
    expect(isMailgunSignatureValid(signed(timestamp), KEY, now)).toBe(true);
  });

  it('refuses another key, a changed token or timestamp, a missing field, or junk', () => {
    expect(isMailgunSignatureValid(signed(timestamp, undefined, 'key-other'), KEY, now)).toBe(false);
    expect(isMailgunSignatureValid({ ...signed(timestamp), token: 'b' + 'x'.repeat(49) }, KEY, now)).toBe(
      false,
    );
    const moved = String(Number(timestamp) + 1);
    expect(isMailgunSignatureValid({ ...signed(timestamp), timestamp: moved }, KEY, now)).toBe(false);
    expect(isMailgunSignatureValid({ timestamp, token: 'x' }, KEY, now)).toBe(false);
    expect(isMailgunSignatureValid(undefined, KEY, now)).toBe(false);
    expect(isMailgunSignatureValid({ ...signed(timestamp), signature: 'zz' }, KEY, now)).toBe(false);
  });

  it('refuses a callback signed more than five minutes away from now (a replay)', () => {
    const old = String((now - MAILGUN_SIGNATURE_MAX_AGE_MS - 1000) / 1000);
    expect(isMailgunSignatureValid(signed(old), KEY, now)).toBe(false);
    const recent = String((now - MAILGUN_SIGNATURE_MAX_AGE_MS + 1000) / 1000);
    expect(isMailgunSignatureValid(signed(recent), KEY, now)).toBe(true);
  });
});

describe('fromMailgunEvent', () => {
  const base = {
    id: 'CPgfbmQMTCKtHW6uIWtuVe',
    recipient: 'ana@example.com',
    'user-variables': { email_id: EMAIL_ID },
  };

  it('maps delivered, permanent failures and complaints onto our email', () => {
    expect(fromMailgunEvent({ ...base, event: 'delivered' })).toEqual({
      provider: 'mailgun',
      eventId: base.id,
      kind: 'delivered',
      emailId: EMAIL_ID,
      recipient: 'ana@example.com',
    });
    expect(
      fromMailgunEvent({ ...base, event: 'failed', severity: 'permanent', 'delivery-status': { code: 550 } }),
    ).toMatchObject({ kind: 'bounced', code: 550 });
    expect(fromMailgunEvent({ ...base, event: 'complained' })).toMatchObject({ kind: 'complained' });
  });

  it('ignores soft bounces, other events and mail we did not send', () => {
    expect(fromMailgunEvent({ ...base, event: 'failed', severity: 'temporary' })).toBeUndefined();
    expect(fromMailgunEvent({ ...base, event: 'opened' })).toBeUndefined();
    expect(fromMailgunEvent({ ...base, event: 'delivered', 'user-variables': {} })).toBeUndefined();
    expect(
      fromMailgunEvent({ ...base, event: 'delivered', 'user-variables': { email_id: '../x' } }),
    ).toBeUndefined();
    expect(fromMailgunEvent(undefined)).toBeUndefined();
  });
});
