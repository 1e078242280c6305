import { randomBytes } from 'node:crypto';
import { HttpFake, type FakeResponse, type RecordedRequest } from './http-fake';

/** One part of a multipart/form-data body. */
export interface FormPart {
  name: string;
  /** Set for a file part (a `filename` parameter in its Content-Disposition). */
  filename?: string;
  contentType?: string;
  content: Buffer;
}

/** A file Mailgun received, as `attachment` or `inline`. */
export interface MailgunFile {
  field: 'attachment' | 'inline';
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A message the fake accepted, split the way Mailgun reads the form. */
export interface MailgunMessage {
  /** The `id` the fake answered with, `<…@domain>`. */
  id: string;
  domain: string;
  /** Every text field by name, values in the order sent (`to` may come several times). */
  fields: Record<string, string[]>;
  /** `h:<Name>` fields: the MIME headers Mailgun adds, by name as sent. */
  headers: Record<string, string>;
  /** `v:<key>` fields: the user variables Mailgun hands back with every event. */
  variables: Record<string, string>;
  /** `o:tag` fields. */
  tags: string[];
  files: MailgunFile[];
  request: RecordedRequest;
}

const FILE_FIELDS = new Set(['attachment', 'inline']);
/** Fields that Mailgun reads once: more than one value is a mistake of the sender. */
const SINGLE_FIELDS = new Set(['from', 'subject', 'text', 'html', 'amp-html', 'template']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Answers the way Mailgun does: JSON `{"message": "..."}`. */
export function mailgunError(status: number, message: string): FakeResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) };
}

/** Reads a quoted-string or token parameter of a header value (`name="a\"b"`), RFC 7578 escapes decoded. */
function headerParam(value: string, param: string): string | undefined {
  const pattern = new RegExp(`(?:^|;)\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i');
  const match = pattern.exec(value);
  if (!match) return undefined;
  const raw = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]!;
  // Browsers and undici (and so axios) percent-encode `"`, CR and LF in names and file names.
  return raw.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

/**
 * A strict multipart/form-data parser (RFC 7578): the boundary from the Content-Type, each part's headers and
 * its body up to the next delimiter, and the closing delimiter required. Anything else throws (the fake
 * answers it with a 400).
 */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  if (!/^multipart\/form-data\s*;/i.test(contentType))
    throw new Error(`not multipart/form-data: ${contentType}`);
  const boundary = headerParam(contentType.slice(contentType.indexOf(';')), 'boundary');
  if (!boundary) throw new Error('multipart/form-data without a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const separator = Buffer.from(`\r\n--${boundary}`);

  let at = body.indexOf(delimiter);
  if (at !== 0 && (at < 0 || body.subarray(at - 2, at).toString() !== '\r\n')) {
    throw new Error('multipart body does not open with its boundary');
  }
  at += delimiter.length;
  const parts: FormPart[] = [];
  for (;;) {
    const after = body.subarray(at, at + 2).toString('latin1');
    if (after === '--') return parts;
    if (after !== '\r\n') throw new Error('boundary not followed by CRLF or --');
    const headersEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headersEnd < 0) throw new Error('part without the blank line that ends its headers');
    const next = body.indexOf(separator, headersEnd + 4);
    if (next < 0) throw new Error('multipart body without its closing boundary');

    const headers = new Map<string, string>();
    const headerBlock = body.subarray(at + 2, headersEnd).toString('utf8');
    for (const line of headerBlock.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`bad part header line: ${line}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    if (!/^form-data\s*;/i.test(disposition)) throw new Error(`part is not form-data: ${disposition}`);
    const name = headerParam(disposition, 'name');
    if (name === undefined) throw new Error('form-data part without a name');
    const filename = headerParam(disposition, 'filename');
    parts.push({
      name,
      ...(filename !== undefined ? { filename } : {}),
      ...(headers.has('content-type') ? { contentType: headers.get('content-type')! } : {}),
      content: Buffer.from(body.subarray(headersEnd + 4, next)),
    });
    at = next + separator.length;
  }
}

/** Splits an address list at commas outside quotes and angle brackets. */
function splitAddresses(value: string): string[] {
  const list: string[] = [];
  let current = '';
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (quoted && char === '\\') {
      current += char + (value[++i] ?? '');
      continue;
    }
    if (char === '"') quoted = !quoted;
    else if (!quoted && char === '<') angle = true;
    else if (!quoted && char === '>') angle = false;
    if (char === ',' && !quoted && !angle) {
      list.push(current.trim());
      current = '';
    } else current += char;
  }
  list.push(current.trim());
  return list;
}

const BARE_ADDRESS = /^[^\s<>@",]+@[^\s<>@",]+$/;
const NAMED_ADDRESS = /^(?:[^<>"]*|"(?:[^"\\]|\\.)*")\s*<[^\s<>@",]+@[^\s<>@",]+>$/;
const isAddress = (text: string) => BARE_ADDRESS.test(text) || NAMED_ADDRESS.test(text);

function mailgunMessageId(domain: string, sequence: number): string {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  return `<${stamp}.${sequence}.${randomBytes(4).toString('hex').toUpperCase()}@${domain}>`;
}

/**
 * Mailgun's sending endpoint, `POST /v3/{domain}/messages`, as its API reference documents it: HTTP basic
 * auth `api:<key>` (401 `Forbidden` otherwise), the configured domain (404 otherwise), multipart/form-data with
 * `from`, `to` and `subject` required and `text` or `html` present (400 `{"message": ...}` otherwise), valid
 * addresses in to/cc/bcc, at most 3 `o:tag` of at most 128 ASCII characters, `attachment` and `inline` as file
 * parts with a file name. Accepted messages are recorded and answered 200
 * `{"id": "<…@domain>", "message": "Queued. Thank you."}`; refusals are recorded in `rejections`.
 */
export class MailgunFake {
  readonly messages: MailgunMessage[] = [];
  /** Every refusal of the fake's own (not those of failNext), so that a test can tell a wire-format fault. */
  readonly rejections: { status: number; message: string }[] = [];
  private readonly http: HttpFake;

  private constructor(
    readonly apiKey: string,
    readonly domain: string,
  ) {
    this.http = new HttpFake((request) => {
      const response = this.respond(request);
      if (response.status !== 200) {
        const body = String(response.body ?? '');
        const message = body.startsWith('{') ? (JSON.parse(body) as { message: string }).message : body;
        this.rejections.push({ status: response.status, message });
      }
      return response;
    });
  }

  static async start(options: { apiKey: string; domain: string }): Promise<MailgunFake> {
    const fake = new MailgunFake(options.apiKey, options.domain);
    await fake.http.start();
    return fake;
  }

  /** The base URL, as MAILGUN_URL (the SDK adds `/v3/{domain}/messages`). */
  get url(): string {
    return this.http.url;
  }

  /** Every request that reached the fake, accepted or not. */
  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** Answers the next `count` requests with `response` (see mailgunError) instead of checking them. */
  failNext(count: number, response: FakeResponse): void {
    this.http.failNext(count, response);
  }

  /** The accepted message carrying `v:email_id` = emailId. */
  find(emailId: string): MailgunMessage | undefined {
    return this.messages.find((message) => message.variables.email_id === emailId);
  }

  stop(): Promise<void> {
    return this.http.stop();
  }

  private respond(request: RecordedRequest): FakeResponse {
    const expected = `Basic ${Buffer.from(`api:${this.apiKey}`).toString('base64')}`;
    if (request.headers.authorization !== expected) {
      return { status: 401, headers: { 'content-type': 'text/plain' }, body: 'Forbidden' };
    }
    const route = /^\/v3\/([^/?]+)\/messages$/.exec(request.path);
    if (request.method !== 'POST' || !route) return mailgunError(404, 'Not Found');
    const domain = decodeURIComponent(route[1]!);
    if (domain !== this.domain) return mailgunError(404, `Domain not found: ${domain}`);

    let parts: FormPart[];
    try {
      parts = parseMultipart(request.body, request.headers['content-type'] ?? '');
    } catch (error) {
      return mailgunError(400, `malformed multipart/form-data: ${(error as Error).message}`);
    }
    const fields: Record<string, string[]> = {};
    const files: MailgunFile[] = [];
    for (const part of parts) {
      if (FILE_FIELDS.has(part.name)) {
        if (part.filename === undefined || part.filename === '') {
          return mailgunError(400, `'${part.name}' parameter must be a file with a file name`);
        }
        files.push({
          field: part.name as MailgunFile['field'],
          filename: part.filename,
          contentType: part.contentType ?? 'application/octet-stream',
          content: part.content,
        });
      } else if (part.filename !== undefined) {
        return mailgunError(400, `'${part.name}' parameter is not a file parameter`);
      } else {
        (fields[part.name] ??= []).push(part.content.toString('utf8'));
      }
    }

    for (const name of ['from', 'to', 'subject']) {
      if (!fields[name]?.some((value) => value.trim() !== ''))
        return mailgunError(400, `'${name}' parameter is missing`);
    }
    if (!['text', 'html', 'amp-html', 'template'].some((name) => fields[name])) {
      return mailgunError(400, "Need at least one of 'text', 'html' or 'template' parameters specified");
    }
    for (const [name, values] of Object.entries(fields)) {
      const single = SINGLE_FIELDS.has(name) || name.startsWith('h:') || name.startsWith('v:');
      if (single && values.length > 1) return mailgunError(400, `'${name}' parameter must be given once`);
    }
    for (const name of ['from', 'to', 'cc', 'bcc']) {
      const addresses = (fields[name] ?? []).flatMap(splitAddresses);
      if (!addresses.every(isAddress)) {
        return mailgunError(400, `'${name}' parameter is not a valid address. please check documentation`);
      }
    }
    const tags = fields['o:tag'] ?? [];
    if (tags.length > 3) return mailgunError(400, 'Too many tags: at most 3 tags are allowed per message');
    if (!tags.every((tag) => /^[\x20-\x7e]{1,128}$/.test(tag))) {
      return mailgunError(400, 'o:tag must be ASCII and at most 128 characters');
    }

    const headers: Record<string, string> = {};
    const variables: Record<string, string> = {};
    for (const [name, values] of Object.entries(fields)) {
      if (name.startsWith('h:')) {
        if (!HEADER_NAME.test(name.slice(2)))
          return mailgunError(400, `'${name}' is not a valid header name`);
        if (/[\r\n]/.test(values[0]!)) return mailgunError(400, `'${name}' header value has a line break`);
        headers[name.slice(2)] = values[0]!;
      } else if (name.startsWith('v:')) variables[name.slice(2)] = values[0]!;
    }

    const id = mailgunMessageId(this.domain, this.messages.length + 1);
    this.messages.push({ id, domain, fields, headers, variables, tags, files, request });
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, message: 'Queued. Thank you.' }),
    };
  }
}
