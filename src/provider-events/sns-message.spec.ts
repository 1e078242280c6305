import { createSign, X509Certificate } from 'node:crypto';
import { selfSignedCertificate } from '../../test/support/self-signed-certificate';
import {
  isSnsSignatureValid,
  isSnsTimestampFresh,
  parseSnsMessage,
  SNS_MESSAGE_MAX_AGE_MS,
  snsStringToSign,
  type SnsMessage,
} from './sns-message';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:MyTopic';
const CERT_URL =
  'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem';

/** Shaped as the examples of SNS's "HTTP/HTTPS notification JSON format" page. */
const notification = (extra: Partial<SnsMessage> = {}): SnsMessage => ({
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: TOPIC,
  Subject: 'My First Message',
  Message: 'Hello world!',
  Timestamp: '2012-05-02T00:54:06.655Z',
  SignatureVersion: '1',
  Signature: '',
  SigningCertURL: CERT_URL,
  ...extra,
});

const confirmation = (extra: Partial<SnsMessage> = {}): SnsMessage => ({
  Type: 'SubscriptionConfirmation',
  MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
  Token:
    '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736',
  TopicArn: TOPIC,
  Message:
    'You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.\nTo confirm the subscription, visit the SubscribeURL included in this message.',
  SubscribeURL:
    'https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37',
  Timestamp: '2012-04-26T20:45:04.751Z',
  SignatureVersion: '1',
  Signature: '',
  SigningCertURL: CERT_URL,
  ...extra,
});

describe('snsStringToSign', () => {
  it('lists a notification’s Message, MessageId, Subject, Timestamp, TopicArn and Type, each as name and value lines', () => {
    expect(snsStringToSign(notification())).toBe(
      'Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\n' +
        `Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
  });

  it('leaves Subject out when the notification has none', () => {
    expect(snsStringToSign(notification({ Subject: undefined }))).toBe(
      'Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n' +
        `Timestamp\n2012-05-02T00:54:06.655Z\nTopicArn\n${TOPIC}\nType\nNotification\n`,
    );
  });

  it('lists a confirmation’s Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn and Type', () => {
    const m = confirmation();
    expect(snsStringToSign(m)).toBe(
      `Message\n${m.Message}\nMessageId\n${m.MessageId}\nSubscribeURL\n${m.SubscribeURL}\n` +
        `Timestamp\n${m.Timestamp}\nToken\n${m.Token}\nTopicArn\n${TOPIC}\nType\nSubscriptionConfirmation\n`,
    );
    const unsubscribe = confirmation({ Type: 'UnsubscribeConfirmation' });
    expect(snsStringToSign(unsubscribe)).toContain('SubscribeURL\n');
    expect(snsStringToSign(unsubscribe)).toContain('Token\n');
  });
});

describe('parseSnsMessage', () => {
  it('takes the three types with the fields each needs', () => {
    expect(parseSnsMessage(notification())).toEqual(notification());
    expect(parseSnsMessage(notification({ Subject: undefined }))).toBeDefined();
    expect(parseSnsMessage(confirmation())).toEqual(confirmation());
    expect(parseSnsMessage(confirmation({ Type: 'UnsubscribeConfirmation' }))).toBeDefined();
  });

  it('refuses other types, versions, a missing or non-string field, and non-objects', () => {
    const bad: unknown[] = [
      { ...notification(), Type: 'Other' },
      { ...notification(), SignatureVersion: '3' },
      { ...notification(), SignatureVersion: 1 },
      { ...notification(), Message: undefined },
      { ...notification(), Subject: 42 },
      { ...confirmation(), SubscribeURL: undefined },
      { ...confirmation(), Token: undefined },
      'Notification',
      null,
      [notification()],
    ];
    for (const body of bad) expect(parseSnsMessage(body)).toBeUndefined();
  });
});

describe('isSnsSignatureValid', () => {
  const certificate = selfSignedCertificate();
  const publicKey = new X509Certificate(certificate.pem).publicKey;
  const signed = (message: SnsMessage, algorithm = 'RSA-SHA256') => ({
    ...message,
    Signature: createSign(algorithm).update(snsStringToSign(message)).sign(certificate.privateKey, 'base64'),
  });

  it('verifies SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA), notifications and confirmations', () => {
    expect(isSnsSignatureValid(signed(notification(), 'RSA-SHA1'), publicKey)).toBe(true);
    expect(isSnsSignatureValid(signed(notification({ SignatureVersion: '2' })), publicKey)).toBe(true);
    expect(isSnsSignatureValid(signed(confirmation({ SignatureVersion: '2' })), publicKey)).toBe(true);
  });

  it('refuses a changed field, the other version’s hash, another key, and junk', () => {
    const good = signed(notification({ SignatureVersion: '2' }));
    expect(isSnsSignatureValid({ ...good, Message: 'Hello world?' }, publicKey)).toBe(false);
    expect(isSnsSignatureValid({ ...good, Subject: undefined }, publicKey)).toBe(false);
    expect(isSnsSignatureValid({ ...good, TopicArn: `${TOPIC}2` }, publicKey)).toBe(false);
    expect(isSnsSignatureValid({ ...good, SignatureVersion: '1' }, publicKey)).toBe(false);
    const other = new X509Certificate(selfSignedCertificate().pem).publicKey;
    expect(isSnsSignatureValid(good, other)).toBe(false);
    expect(isSnsSignatureValid({ ...good, Signature: 'not base64!' }, publicKey)).toBe(false);
    expect(isSnsSignatureValid({ ...good, Signature: '' }, publicKey)).toBe(false);
    const confirm = signed(confirmation({ SignatureVersion: '2' }));
    expect(isSnsSignatureValid({ ...confirm, SubscribeURL: 'https://evil.example/' }, publicKey)).toBe(false);
  });
});

describe('isSnsTimestampFresh', () => {
  const now = Date.parse('2026-05-02T12:00:00.000Z');
  const at = (ms: number) => notification({ Timestamp: new Date(ms).toISOString() });

  it('accepts a message signed within the last two hours (SNS retries for at most one)', () => {
    expect(isSnsTimestampFresh(at(now), now)).toBe(true);
    expect(isSnsTimestampFresh(at(now - SNS_MESSAGE_MAX_AGE_MS + 1000), now)).toBe(true);
    expect(isSnsTimestampFresh(at(now + 60_000), now)).toBe(true);
  });

  it('refuses an older message (a replay), one dated well in the future, and a date that is not one', () => {
    expect(isSnsTimestampFresh(at(now - SNS_MESSAGE_MAX_AGE_MS - 1000), now)).toBe(false);
    expect(isSnsTimestampFresh(at(now + 3_600_000), now)).toBe(false);
    expect(isSnsTimestampFresh(notification({ Timestamp: 'yesterday' }), now)).toBe(false);
  });
});
