import fc from 'fast-check';
import { TOKENS } from './fixtures';

/**
 * Generators of bad input for the fuzz test (test/resilience/fuzz.e2e-spec.ts): malformed, oversized, wrongly
 * typed and injection-shaped requests to the operations of the OpenAPI document, and emails close enough to
 * valid to be accepted and delivered.
 */

/** The body limit (MAX_BODY_BYTES) the generated bodies are sized around: the fuzzed app must run with it. */
export const FUZZ_MAX_BODY_BYTES = 64 * 1024;

/** An operation of the OpenAPI document: its method and its path template (`/api/v1/emails/{id}`). */
export interface Operation {
  method: string;
  template: string;
}

/** One generated request as it is sent: the path with its query, the headers and the raw body. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Strings that have broken web services before. */
const NASTY = [
  '',
  ' ',
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '....//....//etc/passwd',
  'welcome/../../package.json',
  'ana@example.com\r\nBcc: evil@attacker.test',
  'Subject\r\nBcc: evil@attacker.test',
  'x\nX-Injected: 1',
  'a\u0000b',
  '\uD800',
  '\uDFFF\uD800',
  '\u202Eevil.exe',
  '\u200B\u200C\u200D\uFEFF',
  'ｅｍａｉｌ＠ｅｘａｍｐｌｅ．ｃｏｍ',
  '🙂'.repeat(300),
  'Ω≈ç√∫˜µ≤≥÷',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '{{constructor.constructor("return process")()}}',
  '{{#each this}}{{/each}}',
  '{{> ../../etc/passwd}}',
  '${7*7}',
  '__proto__',
  'constructor',
  '%0d%0aBcc:x@y.z',
  'ana@example.com,evil@attacker.test',
  '"ana"@example.com',
  'ana@[127.0.0.1]',
  'ana@localhost',
  '@',
  'a'.repeat(10_000),
  '9'.repeat(400),
  '2026-02-30T25:61:61Z',
  '-1',
  'NaN',
  'Infinity',
  'null',
  'true',
];

const nastyString = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

const nastyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const VALID_EMAIL = { to: ['ana@example.com'], subject: 'Fuzz', text: 'Hello' };
const EMAIL_FIELDS = [
  'to',
  'cc',
  'bcc',
  'from',
  'replyTo',
  'subject',
  'text',
  'html',
  'template',
  'data',
  'priority',
  'sendAt',
  'provider',
  'headers',
  'tags',
  'attachments',
  'unknownField',
  '__proto__',
];

/** A valid email with one or two fields replaced by something nasty: gets past the first checks. */
const mutatedEmail = fc
  .array(fc.tuple(fc.constantFrom(...EMAIL_FIELDS), nastyValue), { minLength: 1, maxLength: 2 })
  .map((changes) => {
    const email: Record<string, unknown> = { ...VALID_EMAIL };
    for (const [field, value] of changes)
      Object.defineProperty(email, field, { value, enumerable: true, configurable: true, writable: true });
    return email;
  });

/** Recipient shapes that must never reach a header as more than one address. */
const injectedRecipients = fc
  .constantFrom(
    'ana@example.com\r\nBcc: evil@attacker.test',
    'ana@example.com\nBcc: evil@attacker.test',
    'ana@example.com>\r\nBcc: <evil@attacker.test',
  )
  .chain((address) =>
    fc.constantFrom<Record<string, unknown>>(
      { ...VALID_EMAIL, to: [address] },
      { ...VALID_EMAIL, to: [{ email: 'ana@example.com', name: `Ana${address}` }] },
      { ...VALID_EMAIL, subject: `Hi\r\nBcc: evil@attacker.test` },
      { ...VALID_EMAIL, headers: { 'X-Tag': 'a\r\nBcc: evil@attacker.test' } },
      { ...VALID_EMAIL, attachments: [{ filename: 'a\r\nBcc: x.pdf', content: 'JVBERi0xLjQK' }] },
    ),
  );

const deepJson = fc
  .integer({ min: 100, max: 20_000 })
  .chain((depth) =>
    fc.constantFrom(
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    ),
  )
  .map((json) => `{"to":["ana@example.com"],"subject":"deep","text":"x","data":${json}}`);

const rawBody = fc.oneof(
  { weight: 6, arbitrary: mutatedEmail.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: injectedRecipients.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: nastyValue.map((value) => JSON.stringify(value) ?? 'undefined') },
  { weight: 1, arbitrary: deepJson },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"to": [',
      '{"to": ["a@b.c"],}',
      "{'to': 'a@b.c'}",
      '\u0000',
      'null',
      '[]',
      '"string"',
      '{"__proto__": {"isAdmin": true}, "to": ["ana@example.com"], "subject": "x", "text": "y"}',
      '{"constructor": {"prototype": {"polluted": 1}}}',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: FUZZ_MAX_BODY_BYTES - 10, max: FUZZ_MAX_BODY_BYTES * 3 })
      .map((n) => JSON.stringify({ ...VALID_EMAIL, text: 'x'.repeat(n) })),
  },
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/problem+json',
  'application/json, text/plain',
  '*/*',
];

const authorization = fc.constantFrom<string | undefined>(
  `Bearer ${TOKENS.billing}`,
  `Bearer ${TOKENS.billing}`,
  `Bearer ${TOKENS.ops}`,
  `Bearer ${TOKENS.reports}`,
  undefined,
  'Bearer ',
  'Bearer st_dev_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  `Bearer ${TOKENS.billing.slice(0, -1)}`,
  `Basic ${Buffer.from('a:b').toString('base64')}`,
  `bearer ${TOKENS.billing}x`,
  'Bearer ' + 'x'.repeat(5000),
);

/** Header values fetch can carry (Latin-1, no CR/LF); the fuzz test sends CR/LF in headers over a raw socket. */
const headerValue = fc
  .oneof(
    fc.constantFrom('', ' ', 'x'.repeat(300), '../../etc/passwd', '\u00ff\u00fe', 'a\tb', '🙂'),
    fc.string({ maxLength: 40 }),
  )
  .map((value) => value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?'));

/** Every UTF-8 byte (lone surrogates become U+FFFD) percent-encoded: any string, as a valid URL part. */
const percentEncoded = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');

const pathSegment = fc.oneof(
  fc.uuid(),
  fc.constantFrom(
    'welcome',
    'billing',
    '..',
    '.',
    '%2e%2e',
    '%00',
    'x'.repeat(2000),
    '0190f3c2-0000-7000-8000-000000000000',
  ),
  nastyString.map((s) => percentEncoded(s.slice(0, 1000))),
);

const queryString = fc
  .dictionary(
    fc.constantFrom('limit', 'cursor', 'status', 'service', 'event', 'from', 'to', 'provider', 'x'),
    nastyString.map((s) => percentEncoded(s.slice(0, 700))),
    { maxKeys: 3 },
  )
  .map((query) => {
    const text = Object.entries(query)
      .map(([key, value]) => `${key}=${value}`)
      .join('&');
    return text ? `?${text}` : '';
  });

/** Text that is valid but unusual: the accepting path must carry it into a well-formed email. */
const edgyText = fc.oneof(
  fc.constantFrom(
    'Grüße aus Köln',
    '日本語の件名',
    'مرحبا بالعالم',
    '‮evil.exe',
    '🙂🚀 launch',
    '=?utf-8?B?SGk=?=',
    'Quotes " and \\ backslashes',
    '<script>alert(1)</script>',
    '{{handlebars}} left as is',
    'a'.repeat(990),
  ),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
);

const edgyRecipient = fc.oneof(
  fc.constantFrom('ana@example.com', 'o.brien+tag@example.co.uk', 'x@sub.example.org'),
  fc.record({ email: fc.constant('ana@example.com'), name: edgyText.map((t) => t.slice(0, 200)) }),
);

/** An email close to valid: most are accepted and delivered, so their delivered form can be checked. */
const edgyEmail = fc.record(
  {
    to: fc.array(edgyRecipient, { minLength: 1, maxLength: 3 }),
    cc: fc.array(edgyRecipient, { maxLength: 2 }),
    subject: edgyText,
    text: edgyText,
    html: edgyText.map((t) => `<p>${t}</p>`),
    priority: fc.constantFrom('high', 'medium', 'low'),
    headers: fc.dictionary(
      fc.constantFrom('X-Campaign', 'X-Tag', 'X-Trace'),
      edgyText.map((t) => t.slice(0, 900)),
      {
        maxKeys: 2,
      },
    ),
  },
  { requiredKeys: ['to', 'subject', 'text'] },
);

const acceptingRequest: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    { weight: 3, arbitrary: edgyEmail.map((email) => ({ path: '/api/v1/emails', body: email })) },
    {
      weight: 1,
      arbitrary: injectedRecipients.map((email) => ({ path: '/api/v1/emails', body: email })),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(edgyEmail, { minLength: 1, maxLength: 5 })
        .map((emails) => ({ path: '/api/v1/emails/batch', body: { emails } })),
    },
  )
  .map(({ path, body }) => ({
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${TOKENS.billing}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  }));

/** Requests to the operations, mostly bad ones; a fifth are emails close to valid, for the accepting path. */
export function requestsFor(operations: Operation[]): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(
    { weight: 4, arbitrary: anyRequest(operations) },
    { weight: 1, arbitrary: acceptingRequest },
  );
}

/** Any method, path segments, query, content type, credentials and body against one of the operations. */
function anyRequest(operations: Operation[]): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      operation: fc.constantFrom(...operations),
      method: fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), {
        freq: 8,
      }),
      segments: fc.array(pathSegment, { minLength: 3, maxLength: 3 }),
      query: queryString,
      contentType: fc.option(fc.constantFrom(...CONTENT_TYPES), { freq: 6 }),
      authorization,
      idempotencyKey: fc.option(headerValue, { freq: 4 }),
      requestId: fc.option(headerValue, { freq: 4 }),
      body: fc.option(rawBody, { freq: 6 }),
    })
    .map((r) => {
      let i = 0;
      const method = r.method ?? r.operation.method;
      const path = r.operation.template.replace(/\{[^}]+\}/g, () => r.segments[i++]!) + r.query;
      const headers: Record<string, string> = {};
      if (r.authorization) headers.authorization = r.authorization;
      if (r.contentType) headers['content-type'] = r.contentType;
      if (r.idempotencyKey !== null) headers['idempotency-key'] = r.idempotencyKey;
      if (r.requestId !== null) headers['x-request-id'] = r.requestId;
      const hasBody = r.body !== null && !['GET', 'HEAD'].includes(method);
      return { method, path, headers, ...(hasBody ? { body: r.body! } : {}) };
    });
}
