import { createSign, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { selfSignedCertificate } from '../self-signed-certificate';
import { HttpFake, type FakeResponse, type RecordedRequest } from './http-fake';

/*
 * Amazon SNS's side of an HTTP(S) subscription, as its developer guide documents it ("HTTP/HTTPS notification
 * JSON format", "… subscription confirmation JSON format", "Verifying the signatures of Amazon SNS messages"):
 * messages are JSON documents signed with RSA (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over
 * "<name>\n<value>\n" for each of a fixed list of fields, verified with the certificate at SigningCertURL; a
 * subscription is confirmed by a GET of its SubscribeURL. This fake serves a self-signed certificate and the
 * SubscribeURL from a local server (the app's SNS_CERT_URL_PATTERN points at it), records every request, and
 * signs messages with its key as SNS does with its own.
 */

const CERTIFICATE_PATH = '/SimpleNotificationService-fake.pem';

export interface SnsMessageOptions {
  topicArn?: string;
  /** Default 2 (SHA256withRSA); 1 is SHA1withRSA, SNS's default for a topic. */
  signatureVersion?: '1' | '2';
  timestamp?: Date;
  signingCertUrl?: string;
  /** Another key than the certificate's: a forgery. */
  signWith?: KeyObject;
  subject?: string;
}

export class SnsFake {
  private readonly http: HttpFake;
  private readonly certificate = selfSignedCertificate('sns.fake');

  private constructor(readonly topicArn: string) {
    this.http = new HttpFake((request) => this.respond(request));
  }

  static async start(topicArn: string): Promise<SnsFake> {
    const fake = new SnsFake(topicArn);
    await fake.http.start();
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  /** What the app's SNS_CERT_URL_PATTERN is set to: this server, and nothing else. */
  get urlPattern(): string {
    return `^http://127\\.0\\.0\\.1:${this.http.port}/`;
  }

  get certificateUrl(): string {
    return this.url + CERTIFICATE_PATH;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** The GETs of a SubscribeURL, i.e. the subscriptions the app confirmed. */
  confirmations(): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'GET' && r.path.startsWith('/?Action=ConfirmSubscription'),
    );
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  /** A Notification carrying `message` (an SES notification, as JSON text), signed. */
  notification(message: unknown, options: SnsMessageOptions = {}): Record<string, string> {
    return this.signed(
      {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: options.topicArn ?? this.topicArn,
        ...(options.subject !== undefined ? { Subject: options.subject } : {}),
        Message: typeof message === 'string' ? message : JSON.stringify(message),
        Timestamp: (options.timestamp ?? new Date()).toISOString(),
        UnsubscribeURL: `${this.url}/?Action=Unsubscribe&SubscriptionArn=${this.topicArn}:${randomUUID()}`,
      },
      options,
    );
  }

  /** A SubscriptionConfirmation whose SubscribeURL is this server's (or `subscribeUrl`), signed. */
  subscriptionConfirmation(
    options: SnsMessageOptions & { subscribeUrl?: string } = {},
  ): Record<string, string> {
    const topicArn = options.topicArn ?? this.topicArn;
    const token = randomBytes(64).toString('hex');
    return this.signed(
      {
        Type: 'SubscriptionConfirmation',
        MessageId: randomUUID(),
        Token: token,
        TopicArn: topicArn,
        Message: `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL:
          options.subscribeUrl ??
          `${this.url}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(topicArn)}&Token=${token}`,
        Timestamp: (options.timestamp ?? new Date()).toISOString(),
      },
      options,
    );
  }

  private signed(fields: Record<string, string>, options: SnsMessageOptions): Record<string, string> {
    const version = options.signatureVersion ?? '2';
    const names =
      fields.Type === 'Notification'
        ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
        : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const stringToSign = names
      .filter((name) => fields[name] !== undefined)
      .map((name) => `${name}\n${fields[name]}\n`)
      .join('');
    const signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
      .update(stringToSign, 'utf8')
      .sign(options.signWith ?? this.certificate.privateKey, 'base64');
    return {
      ...fields,
      SignatureVersion: version,
      Signature: signature,
      SigningCertURL: options.signingCertUrl ?? this.certificateUrl,
    };
  }

  private respond(request: RecordedRequest): FakeResponse {
    if (request.method === 'GET' && request.path === CERTIFICATE_PATH)
      return {
        status: 200,
        headers: { 'content-type': 'application/x-pem-file' },
        body: this.certificate.pem,
      };
    if (request.method === 'GET' && request.path.startsWith('/?Action=ConfirmSubscription'))
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body:
          '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ConfirmSubscriptionResult>' +
          `<SubscriptionArn>${this.topicArn}:${randomUUID()}</SubscriptionArn></ConfirmSubscriptionResult>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>`,
      };
    return { status: 404, body: 'not found' };
  }
}
