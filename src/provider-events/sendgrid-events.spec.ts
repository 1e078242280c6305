import { generateKeyPairSync, sign } from 'node:crypto';
import {
  fromSendGridEvent,
  isSendGridSignatureValid,
  SENDGRID_SIGNATURE_MAX_AGE_MS,
} from './sendgrid-events';
import { parseSendGridPublicKey } from '../config/provider-event-settings';

const EMAIL_ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';

/** A key pair like the one SendGrid makes when the signed Event Webhook is turned on. */
function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // What the console shows as the verification key: base64 of the DER SubjectPublicKeyInfo.
  const shown = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { shown, privateKey };
}

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

/**
 * Batches signed by SendGrid itself, as published with its own verifier (sendgrid/sendgrid-nodejs,
 * packages/eventwebhook/src/eventwebhook.spec.js): ours must accept exactly what SendGrid's library accepts.
 */
describe('isSendGridSignatureValid on the vectors SendGrid publishes', () => {
  const single = {
    key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==',
    signature:
      'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=',
    timestamp: '1600112502',
    body:
      JSON.stringify([
        {
          email: 'hello@world.com',
          event: 'dropped',
          reason: 'Bounced Address',
          sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
          sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
          'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
          timestamp: 1600112492,
        },
      ]) + '\r\n',
  };
  const multiple = {
    key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q==',
    signature:
      'MEYCIQC/I4o6vCgqRYrTljjoVWB/GRWNtxeePlLMHr3x9ETeRQIhAIpV+03nREPTTHWSW0wIOA0EoMPdcNgXa70yCaqDJlu5',
    timestamp: '1619651159',
    // SendGrid puts each event of a batch on a line of its own.
    body:
      JSON.stringify([
        {
          email: 'invalid@gmail.com',
          event: 'processed',
          send_at: 0,
          sg_event_id: 'cHJvY2Vzc2VkLTE5OTQyMTEyLXFOd0JMZ1BRUWpXNkRKdktRd1NBYnctMA',
          sg_message_id: 'qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0',
          'smtp-id': '<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>',
          timestamp: 1619651146,
        },
        {
          email: 'invalid@gmail.com',
          event: 'bounce',
          ip: '167.89.101.76',
          reason:
            '552 5.2.2 The email account that you tried to reach is over quota and inactive. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaPerm c17si1130468pgv.34 - gsmtp',
          sg_event_id: 'Ym91bmNlLTAtMTk5NDIxMTItcU53QkxnUFFRalc2REp2S1F3U0Fidy0w',
          sg_message_id: 'qNwBLgPQQjW6DJvKQwSAbw.filterdrecv-canary-547b64655b-cw6zx-1-6089EA4A-56.0',
          'smtp-id': '<qNwBLgPQQjW6DJvKQwSAbw@ismtpd0178p1mdw1.sendgrid.net>',
          status: '5.2.2',
          timestamp: 1619651147,
          tls: 1,
          type: 'blocked',
        },
      ])
        .split('},{')
        .join('},\r\n{') + '\r\n',
  };
  const verifies = (vector: typeof single, changes: Partial<typeof single> = {}) => {
    const { key, signature, timestamp, body } = { ...vector, ...changes };
    return isSendGridSignatureValid(
      { signature, timestamp, rawBody: Buffer.from(body) },
      parseSendGridPublicKey(key)!,
      Number(vector.timestamp) * 1000,
    );
  };

  it('accepts a batch of one event and a batch of several, each with its own key', () => {
    expect(verifies(single)).toBe(true);
    expect(verifies(multiple)).toBe(true);
  });

  it("refuses them with the other batch's key, a changed body or timestamp, or the other's signature", () => {
    expect(verifies(single, { key: multiple.key })).toBe(false);
    expect(verifies(single, { body: single.body.replace('Bounced', 'Invalid') })).toBe(false);
    expect(verifies(single, { body: single.body.trimEnd() })).toBe(false);
    expect(verifies(single, { timestamp: String(Number(single.timestamp) + 1) })).toBe(false);
    expect(verifies(multiple, { signature: single.signature })).toBe(false);
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
