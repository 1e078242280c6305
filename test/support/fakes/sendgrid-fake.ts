import { randomBytes } from 'node:crypto';
import { HttpFake, type FakeResponse, type RecordedRequest } from './http-fake';

/*
 * SendGrid's v3 Mail Send as its reference documents it (docs.sendgrid.com/api-reference/mail-send, its
 * "Limitations" and the error list at …/mail-send/errors): `Authorization: Bearer <key>`, a JSON body, 202 with
 * `X-Message-Id` on success, `{ "errors": [{ "message", "field", "help" }] }` otherwise. Each check below
 * answers with the message SendGrid documents for it.
 */

export interface SendGridError {
  message: string;
  field: string | null;
  help: string | null;
}

/** A message SendGrid accepted: the parsed body and the X-Message-Id it answered with. */
export interface AcceptedMail {
  messageId: string;
  /** The body as parsed JSON, for tests to compare with the documented shape. */
  body: Record<string, unknown>;
  request: RecordedRequest;
}

const HELP = 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.';
const RESERVED_HEADERS = [
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'content-type',
  'content-transfer-encoding',
  'to',
  'from',
  'subject',
  'reply-to',
  'cc',
  'bcc',
];
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NON_ASCII = /[\u0080-\uffff]/;
const SEMICOLON_COMMA_OR_LINE_BREAK = /[;,\r\n]/;

/** A SendGrid-shaped error answer, for `failNext` and the fake's own refusals. */
export function sendGridErrorResponse(
  status: number,
  errors: SendGridError[] | string,
  headers: Record<string, string> = {},
): FakeResponse {
  const list = typeof errors === 'string' ? [{ message: errors, field: null, help: null }] : errors;
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ errors: list }),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every violation of the documented Mail Send body rules (SendGrid reports as many as it can find). */
export function mailSendViolations(body: unknown): SendGridError[] {
  const errors: SendGridError[] = [];
  const fail = (field: string, message: string) =>
    errors.push({ message, field, help: HELP + field.replace(/\.\d+/g, '') });
  if (!isObject(body)) {
    fail('body', 'The request body must be a JSON object.');
    return errors;
  }
  const hasTemplate = typeof body.template_id === 'string';

  const checkAddress = (value: unknown, field: string, kind: string, forbidsSeparators: boolean) => {
    if (!isObject(value) || typeof value.email !== 'string' || !EMAIL.test(value.email)) {
      fail(
        field,
        `The ${kind} object must at least have an email parameter with a valid email address and may also contain a name parameter.`,
      );
      return;
    }
    if (value.email.length > 320)
      fail(field, `The ${kind} email exceeds the maximum total length of 320 characters`);
    if (value.name !== undefined && typeof value.name !== 'string')
      fail(`${field}.name`, 'The name must be a string.');
    if (forbidsSeparators && typeof value.name === 'string' && /[;,]/.test(value.name))
      fail(
        `${field}.name`,
        'The to.name, cc.name, and bcc.name cannot include either the ; or , characters.',
      );
  };

  const checkCustomArgs = (value: unknown, field: string) => {
    if (value === undefined) return;
    if (!isObject(value)) {
      fail(field, `Invalid type. Expected: object, given: ${Array.isArray(value) ? 'array' : typeof value}.`);
      return;
    }
    if (Object.keys(value).length === 0) fail(field, 'custom_args cannot be empty.');
    if (!Object.values(value).every((v) => typeof v === 'string'))
      fail(field, 'All values of custom arguments object must be strings');
  };

  const checkHeaders = (value: unknown, field: string) => {
    if (value === undefined) return;
    if (!isObject(value)) {
      fail(field, 'The headers must be an object.');
      return;
    }
    const seen = new Set<string>();
    for (const [name, headerValue] of Object.entries(value)) {
      const lower = name.toLowerCase();
      if (typeof headerValue !== 'string') fail(field, 'The header values must be strings.');
      if (NON_ASCII.test(name) || /\s/.test(name))
        fail(field, 'Header keys cannot contain non-ASCII characters and empty spaces.');
      if (RESERVED_HEADERS.includes(lower)) fail(field, 'Header can not be one of the reserved keys.');
      // SendGrid documents that the sender must encode non-ASCII values; the fake holds callers to it.
      if (typeof headerValue === 'string' && NON_ASCII.test(headerValue))
        fail(field, 'Header values with unicode characters must be encoded.');
      if (seen.has(lower)) fail(field, 'The headers cannot contain duplicate keys.');
      seen.add(lower);
    }
  };

  // personalizations
  const personalizations = body.personalizations;
  if (!Array.isArray(personalizations) || personalizations.length === 0) {
    fail('personalizations', 'You must have at least one personalization.');
  } else {
    if (personalizations.length > 1000)
      fail(
        'personalizations',
        'The personalization block is limited to 1000 personalizations per API request.',
      );
    let recipients = 0;
    personalizations.forEach((p: unknown, i) => {
      const at = `personalizations.${i}`;
      if (!isObject(p)) {
        fail(at, 'Each personalization must be an object.');
        return;
      }
      if (!Array.isArray(p.to) || p.to.length === 0)
        fail(`${at}.to`, 'The to parameter is required for all personalization objects.');
      const seen = new Set<string>();
      for (const kind of ['to', 'cc', 'bcc'] as const) {
        const list = p[kind];
        if (list === undefined) continue;
        if (!Array.isArray(list)) {
          fail(`${at}.${kind}`, `The ${kind} array must be an array of email objects.`);
          continue;
        }
        list.forEach((a: unknown, j) => {
          checkAddress(a, `${at}.${kind}.${j}`, kind, true);
          recipients++;
          const email = isObject(a) && typeof a.email === 'string' ? a.email.toLowerCase() : undefined;
          if (email && seen.has(email))
            fail(
              `${at}.${kind}.${j}.email`,
              `Each unique email address in the personalizations array should only be included once. You have included ${email} more than once.`,
            );
          if (email) seen.add(email);
        });
      }
      if (p.subject !== undefined && (typeof p.subject !== 'string' || p.subject.length === 0))
        fail(`${at}.subject`, 'The subject of your email must be a string at least one character in length.');
      checkHeaders(p.headers, `${at}.headers`);
      checkCustomArgs(p.custom_args, `${at}.custom_args`);
    });
    if (recipients > 1000)
      fail('personalizations', 'There is a limit of 1000 total recipients (to + cc + bcc) per request.');
  }

  // from, reply_to
  if (body.from === undefined)
    fail(
      'from',
      'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.',
    );
  else checkAddress(body.from, 'from', 'from', false);
  if (body.reply_to !== undefined) checkAddress(body.reply_to, 'reply_to', 'reply_to', false);

  // subject
  const everyPersonalizationHasSubject =
    Array.isArray(personalizations) &&
    personalizations.length > 0 &&
    personalizations.every((p: unknown) => isObject(p) && typeof p.subject === 'string');
  if (body.subject === undefined) {
    if (!hasTemplate && !everyPersonalizationHasSubject)
      fail(
        'subject',
        'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
      );
  } else if (typeof body.subject !== 'string' || body.subject.length === 0) {
    fail('subject', 'The subject of your email must be a string at least one character in length.');
  }

  // content
  if (body.content === undefined) {
    if (!hasTemplate)
      fail(
        'content',
        'The content param is required unless you are using a transactional template and have defined a template_ID.',
      );
  } else if (!Array.isArray(body.content) || body.content.length === 0) {
    fail(
      'content',
      'There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.',
    );
  } else {
    const types: unknown[] = [];
    body.content.forEach((c: unknown, i) => {
      const at = `content.${i}`;
      if (!isObject(c) || typeof c.type !== 'string' || c.type.length === 0) {
        fail(`${at}.type`, 'A content type is required, this tells email clients how to display the email.');
      } else if (SEMICOLON_COMMA_OR_LINE_BREAK.test(c.type)) {
        fail(`${at}.type`, "Cannot contain ';', or CRLF characters.");
      }
      if (!isObject(c) || typeof c.value !== 'string' || c.value.length === 0)
        fail(`${at}.value`, 'The content value must be a string at least one character in length.');
      types.push(isObject(c) ? c.type : undefined);
    });
    const plain = types.indexOf('text/plain');
    const html = types.indexOf('text/html');
    if ((plain !== -1 && plain !== 0) || (html !== -1 && html !== (plain === -1 ? 0 : 1)))
      fail(
        'content',
        'Following RFC 1341, section 7.2, if either text/html or text/plain are to be sent in your email: text/plain needs to be first, followed by text/html, followed by any other content.',
      );
  }

  // attachments
  if (body.attachments !== undefined) {
    if (!Array.isArray(body.attachments)) fail('attachments', 'The attachments must be an array of objects.');
    else
      body.attachments.forEach((a: unknown, i) => {
        const at = `attachments.${i}`;
        if (!isObject(a)) {
          fail(at, 'Each attachment must be an object.');
          return;
        }
        if (typeof a.content !== 'string' || a.content.length === 0)
          fail(`${at}.content`, 'The attachment content must be a string at least one character in length.');
        else if (!BASE64.test(a.content))
          fail(`${at}.content`, 'The attachment content must be base64 encoded.');
        if (a.filename === undefined) fail(`${at}.filename`, 'filename is required.');
        else if (typeof a.filename !== 'string')
          fail(`${at}.filename`, 'The filename of your attachment must be a string.');
        else if (SEMICOLON_COMMA_OR_LINE_BREAK.test(a.filename))
          fail(`${at}.filename`, 'The filename of your attachment cannot contain CRLF characters.');
        if (a.type !== undefined && (typeof a.type !== 'string' || a.type.length === 0))
          fail(`${at}.type`, 'The attachment type must be a string and at least one character in length.');
        else if (typeof a.type === 'string' && /[;\r\n]/.test(a.type))
          fail(`${at}.type`, "The type cannot contain ';', or CRLF characters.");
        if (a.disposition !== undefined && a.disposition !== 'inline' && a.disposition !== 'attachment')
          fail(
            `${at}.disposition`,
            `The disposition of your attachment can be either "inline" or "attachment". You provided ${JSON.stringify(a.disposition)}.`,
          );
        if (a.content_id !== undefined && typeof a.content_id !== 'string')
          fail(`${at}.content_id`, 'The content ID of your attachment must be a string.');
        else if (typeof a.content_id === 'string' && SEMICOLON_COMMA_OR_LINE_BREAK.test(a.content_id))
          fail(`${at}.content_id`, 'The content ID of your attachment cannot contain CRLF characters.');
      });
  }

  // categories
  if (body.categories !== undefined) {
    const categories = body.categories;
    if (!Array.isArray(categories) || !categories.every((c) => typeof c === 'string')) {
      fail('categories', 'Categories must be an array of strings.');
    } else {
      if (categories.length > 10)
        fail(
          'categories',
          `There is a limit of 10 categories for each email that is sent. You provided ${categories.length} categories.`,
        );
      const seen = new Set<string>();
      for (const category of categories) {
        if (category.length > 255)
          fail(
            'categories',
            `Each category must not be longer than 255 characters. ${category} exceeds this limit`,
          );
        if (NON_ASCII.test(category)) fail('categories', 'Categories can not contain non-ASCII characters.');
        if (seen.has(category))
          fail(
            'categories',
            `The categories must be a unique list, and you have included ${category} more than once.`,
          );
        seen.add(category);
      }
    }
  }

  checkHeaders(body.headers, 'headers');
  checkCustomArgs(body.custom_args, 'custom_args');

  // custom_args: at most 10,000 bytes per personalization once merged with the message-level ones.
  const globalArgs = isObject(body.custom_args) ? body.custom_args : {};
  for (const p of Array.isArray(personalizations) ? personalizations : []) {
    const merged = { ...globalArgs, ...(isObject(p) && isObject(p.custom_args) ? p.custom_args : {}) };
    if (Buffer.byteLength(JSON.stringify(merged)) >= 10_000) {
      fail(
        'custom_args',
        'The combined size of both global and personalization custom arguments may not exceed 10,000 bytes per personalization.',
      );
      break;
    }
  }
  return errors;
}

/**
 * A fake SendGrid v3 Mail Send (`POST /v3/mail/send`) on HttpFake: it checks the key, the content type and the
 * body as SendGrid documents them, answers like SendGrid (202 + X-Message-Id, 400/401/415 with its error JSON)
 * and keeps the messages it accepted. `useApiKey` plays a key rotation or revocation; `failNext` an outage.
 */
export class SendGridFake {
  readonly accepted: AcceptedMail[] = [];
  readonly http: HttpFake;

  private constructor(private apiKey: string) {
    this.http = new HttpFake((request) => this.respond(request));
  }

  static async start(apiKey: string): Promise<SendGridFake> {
    const fake = new SendGridFake(apiKey);
    await fake.http.start();
    return fake;
  }

  /** The base URL to give as SENDGRID_BASE_URL. */
  get url(): string {
    return this.http.url;
  }

  /** Every request received, accepted or not. */
  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** From now on, only this key is valid (the previous one answers 401, as a revoked key does). */
  useApiKey(apiKey: string): void {
    this.apiKey = apiKey;
  }

  /** Answers the next `count` requests with `response` (see sendGridErrorResponse), before any check. */
  failNext(count: number, response: FakeResponse): void {
    this.http.failNext(count, response);
  }

  /** The accepted message of one email, found by the `email_id` custom argument. */
  find(emailId: string): AcceptedMail | undefined {
    return this.accepted.find(
      (mail) => (mail.body.custom_args as Record<string, unknown> | undefined)?.email_id === emailId,
    );
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private respond(request: RecordedRequest): FakeResponse {
    if (request.path.split('?')[0] !== '/v3/mail/send')
      return sendGridErrorResponse(404, 'resource not found');
    if (request.method !== 'POST') return sendGridErrorResponse(405, 'method not allowed');

    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (!match) return sendGridErrorResponse(401, 'authorization required');
    if (match[1] !== this.apiKey)
      return sendGridErrorResponse(401, 'The provided authorization grant is invalid, expired, or revoked');

    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/json')
      return sendGridErrorResponse(415, 'Content-Type should be application/json.');

    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(request.body);
    } catch {
      return sendGridErrorResponse(415, [{ message: 'Invalid UTF8 in request', field: null, help: null }]);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return sendGridErrorResponse(400, [{ message: 'Bad Request', field: null, help: null }]);
    }

    const violations = mailSendViolations(body);
    if (violations.length > 0) return sendGridErrorResponse(400, violations);

    const messageId = randomBytes(16).toString('base64url');
    this.accepted.push({ messageId, body: body as Record<string, unknown>, request });
    return { status: 202, headers: { 'X-Message-Id': messageId } };
  }
}
