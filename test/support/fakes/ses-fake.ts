import { createHash, createHmac, randomUUID } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { HttpFake, type FakeResponse, type RecordedRequest } from './http-fake';

/** One message SES accepted: the raw MIME as parsed by a mail client, and the request's other parameters. */
export interface SesAcceptedMessage {
  messageId: string;
  raw: string;
  parsed: ParsedMail;
  source: string;
  destinations: string[];
  tags: Record<string, string>;
  /**
   * The configuration set SES applied: `ConfigurationSetName`, else (as SES does) an X-SES-CONFIGURATION-SET
   * header of the raw message; undefined for none.
   */
  configurationSet?: string;
  /** The SigV4 credential scope the request was signed for: `<key id>/<date>/<region>/ses/aws4_request`. */
  credential: string;
}

export interface SesCredentials {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SesAccount {
  /** The configuration sets the account has: a send naming another is refused (ConfigurationSetDoesNotExist). */
  configurationSets?: readonly string[];
}

/** An answer as SES gives it on the Query API: an ErrorResponse of this code and message, with this status. */
export function sesError(status: number, code: string, message: string): FakeResponse {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
    body:
      `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>${type}</Type>` +
      `<Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

/** SES's answers to the failures the provider must tell apart (statuses as in SES's API error codes table). */
export const SES_ERRORS = {
  throttling: () => sesError(400, 'Throttling', 'Maximum sending rate exceeded.'),
  messageRejected: (message = 'Email address is not verified. The following identities failed the check') =>
    sesError(400, 'MessageRejected', message),
  internalFailure: () => sesError(500, 'InternalFailure', 'An internal error occurred.'),
  serviceUnavailable: () => sesError(503, 'ServiceUnavailable', 'Service is unavailable. Try again later.'),
};

class WireError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A fake of the Amazon SES v1 Query API (`POST /`, form-encoded `Action=SendRawEmail&Version=2010-12-01`, the
 * MIME base64 in `RawMessage.Data`, `Destinations.member.N`, `Source`, `Tags.member.N.Name/Value`). It checks
 * the wire format as AWS documents it, the SigV4 signature included: it recomputes the signature with the
 * configured secret key, as SES does, and answers 403 SignatureDoesNotMatch when it differs. It answers with
 * SES's XML (SendRawEmailResponse, or ErrorResponse for a request it refuses) and records accepted messages.
 * Every refusal for a wire-format reason is kept in `violations`, so a test can assert there were none.
 */
export class SesFake {
  readonly accepted: SesAcceptedMessage[] = [];
  readonly violations: string[] = [];
  private readonly http: HttpFake;
  /** Parsing is asynchronous; tests wait for it through `waitForParsed`. */
  private readonly parsing: Promise<unknown>[] = [];

  private constructor(
    private readonly credentials: SesCredentials,
    private readonly account: SesAccount,
  ) {
    this.http = new HttpFake((request) => this.respond(request));
  }

  static async start(credentials: SesCredentials, account: SesAccount = {}): Promise<SesFake> {
    const fake = new SesFake(credentials, account);
    await fake.http.start();
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** Answers the next `count` requests with `response` (see SES_ERRORS) instead of accepting them. */
  failNext(count: number, response: FakeResponse): void {
    this.http.failNext(count, response);
  }

  /** The accepted message with this X-Email-Id, once it has been parsed. */
  async find(emailId: string): Promise<SesAcceptedMessage | undefined> {
    await Promise.all(this.parsing);
    return this.accepted.find((m) => m.parsed.headers.get('x-email-id') === emailId);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private respond(request: RecordedRequest): FakeResponse {
    try {
      return this.accept(request);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      this.violations.push(`${error.code}: ${error.message}`);
      return sesError(error.status, error.code, error.message);
    }
  }

  private accept(request: RecordedRequest): FakeResponse {
    if (request.method !== 'POST' || request.path !== '/')
      throw new WireError(400, 'InvalidAction', `expected POST /, got ${request.method} ${request.path}`);
    const contentType = String(request.headers['content-type'] ?? '');
    if (!contentType.startsWith('application/x-www-form-urlencoded'))
      throw new WireError(400, 'MalformedQueryString', `content-type ${contentType}`);
    const credential = this.checkSignature(request);

    const form = new URLSearchParams(request.body.toString('utf8'));
    if (form.get('Action') !== 'SendRawEmail')
      throw new WireError(400, 'InvalidAction', `Action=${form.get('Action')}`);
    if (form.get('Version') !== '2010-12-01')
      throw new WireError(400, 'InvalidParameterValue', `Version=${form.get('Version')}`);
    const data = form.get('RawMessage.Data');
    if (!data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data))
      throw new WireError(400, 'InvalidParameterValue', 'RawMessage.Data must be the base64 of the message');
    const raw = Buffer.from(data, 'base64').toString('utf8');
    if (!/\r?\n\r?\n/.test(raw))
      throw new WireError(400, 'InvalidParameterValue', 'the message has no blank line after its header');

    const destinations = members(form, 'Destinations.member');
    if (destinations.length === 0 || destinations.length > 50)
      throw new WireError(400, 'InvalidParameterValue', `${destinations.length} destinations`);
    const tags: Record<string, string> = {};
    for (let n = 1; form.has(`Tags.member.${n}.Name`); n++) {
      const name = form.get(`Tags.member.${n}.Name`)!;
      const value = form.get(`Tags.member.${n}.Value`) ?? '';
      for (const text of [name, value])
        if (!/^[A-Za-z0-9_-]{1,256}$/.test(text))
          throw new WireError(400, 'InvalidParameterValue', `invalid tag name or value "${text}"`);
      tags[name] = value;
    }
    const configurationSet = form.get('ConfigurationSetName') ?? rawHeader(raw, 'x-ses-configuration-set');
    if (configurationSet !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(configurationSet))
      throw new WireError(
        400,
        'InvalidParameterValue',
        `invalid configuration set name "${configurationSet}"`,
      );
    if (configurationSet !== undefined && !this.account.configurationSets?.includes(configurationSet))
      throw new WireError(
        400,
        'ConfigurationSetDoesNotExist',
        `Configuration set <${configurationSet}> does not exist.`,
      );

    const messageId = `0102019${randomUUID().replace(/-/g, '').slice(0, 9)}-${randomUUID()}-000000`;
    this.parsing.push(
      simpleParser(raw).then((parsed) =>
        this.accepted.push({
          messageId,
          raw,
          parsed,
          source: form.get('Source') ?? '',
          destinations,
          tags,
          ...(configurationSet !== undefined ? { configurationSet } : {}),
          credential,
        }),
      ),
    );
    return {
      status: 200,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() },
      body:
        `<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendRawEmailResult>` +
        `<MessageId>${messageId}</MessageId></SendRawEmailResult><ResponseMetadata>` +
        `<RequestId>${randomUUID()}</RequestId></ResponseMetadata></SendRawEmailResponse>`,
    };
  }

  /**
   * SigV4 as AWS documents it: `Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<yyyymmdd>/<region>/ses/
   * aws4_request, SignedHeaders=<h1;h2…>, Signature=<hex>` with `X-Amz-Date`, recomputed over the canonical
   * request (method, path, query, the signed headers, the body's SHA-256). Returns the credential scope.
   */
  private checkSignature(request: RecordedRequest): string {
    const authorization = String(request.headers.authorization ?? '');
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/ses\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        authorization,
      );
    if (!match)
      throw new WireError(400, 'IncompleteSignature', `malformed Authorization header "${authorization}"`);
    const [keyId, date, region, signedHeaders, signature] = match.slice(1) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date))
      throw new WireError(400, 'IncompleteSignature', `X-Amz-Date "${amzDate}" does not match ${date}`);
    if (keyId !== this.credentials.accessKeyId)
      throw new WireError(
        403,
        'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      );
    if (region !== this.credentials.region)
      throw new WireError(400, 'IncompleteSignature', `signed for region ${region}`);
    const headerNames = signedHeaders.split(';');
    if (!headerNames.includes('host') || !headerNames.includes('x-amz-date'))
      throw new WireError(400, 'IncompleteSignature', 'host and x-amz-date must be signed');

    const [path, query = ''] = request.path.split('?');
    const canonicalRequest = [
      request.method,
      path,
      query,
      ...headerNames.map(
        (name) =>
          `${name}:${String(request.headers[name] ?? '')
            .trim()
            .replace(/\s+/g, ' ')}`,
      ),
      '',
      signedHeaders,
      sha256(request.body),
    ].join('\n');
    const scope = `${date}/${region}/ses/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    let key = hmac(`AWS4${this.credentials.secretAccessKey}`, date);
    for (const part of [region, 'ses', 'aws4_request']) key = hmac(key, part);
    const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
    if (expected !== signature)
      throw new WireError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    return `${keyId}/${scope}`;
  }
}

/** The first value of a header in the raw message's header block (unfolded), if it has one. */
function rawHeader(raw: string, name: string): string | undefined {
  const header = raw.split(/\r?\n\r?\n/, 1)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const line = header.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

function members(form: URLSearchParams, prefix: string): string[] {
  const values: string[] = [];
  for (let n = 1; form.has(`${prefix}.${n}`); n++) values.push(form.get(`${prefix}.${n}`)!);
  return values;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
