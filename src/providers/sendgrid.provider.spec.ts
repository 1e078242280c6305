import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import type { OutboundEmail } from './outbound-email';
import { classifySendGridError, SendGridProvider, toSendGridMessage } from './sendgrid.provider';

const b64 = (text: string) => Buffer.from(text).toString('base64');

function email(overrides: Partial<OutboundEmail> = {}): OutboundEmail {
  return {
    id: 'em_123',
    from: { email: 'noreply@freeface.test', name: 'FreeFace' },
    to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo Berg' }],
    cc: [{ email: 'carl@example.com' }],
    bcc: [{ email: 'dora@example.com' }],
    replyTo: { email: 'support@example.com', name: 'Support' },
    subject: 'Your invoice 42',
    text: 'Hello Ana',
    html: '<p>Hello Ana</p>',
    headers: { 'X-Campaign': 'invoices' },
    attachments: [
      { filename: 'invoice.pdf', content: b64('%PDF'), contentType: 'application/pdf' },
      { filename: 'logo.png', content: b64('png'), contentType: 'image/png', contentId: 'logo@freeface' },
    ],
    tags: ['invoice'],
    metadata: { invoiceId: '42' },
    ...overrides,
  };
}

describe('toSendGridMessage', () => {
  it('maps an email to the documented v3 Mail Send body', () => {
    expect(toSendGridMessage(email())).toEqual({
      personalizations: [
        {
          to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo Berg' }],
          cc: [{ email: 'carl@example.com' }],
          bcc: [{ email: 'dora@example.com' }],
        },
      ],
      from: { email: 'noreply@freeface.test', name: 'FreeFace' },
      reply_to: { email: 'support@example.com', name: 'Support' },
      subject: 'Your invoice 42',
      content: [
        { type: 'text/plain', value: 'Hello Ana' },
        { type: 'text/html', value: '<p>Hello Ana</p>' },
      ],
      attachments: [
        { content: b64('%PDF'), filename: 'invoice.pdf', type: 'application/pdf', disposition: 'attachment' },
        {
          content: b64('png'),
          filename: 'logo.png',
          type: 'image/png',
          disposition: 'inline',
          content_id: 'logo@freeface',
        },
      ],
      headers: { 'X-Campaign': 'invoices', 'Message-ID': '<em_123@freeface.test>', 'X-Email-Id': 'em_123' },
      categories: ['invoice'],
      custom_args: { invoiceId: '42', email_id: 'em_123' },
    });
  });

  it('leaves out what the email does not have', () => {
    const message = toSendGridMessage(
      email({
        cc: [],
        bcc: [],
        replyTo: undefined,
        html: undefined,
        attachments: [],
        tags: [],
        metadata: {},
      }),
    );
    expect(message.personalizations).toEqual([
      { to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo Berg' }] },
    ]);
    expect(message).not.toHaveProperty('reply_to');
    expect(message).not.toHaveProperty('attachments');
    expect(message).not.toHaveProperty('categories');
    expect(message.content).toEqual([{ type: 'text/plain', value: 'Hello Ana' }]);
    expect(message.custom_args).toEqual({ email_id: 'em_123' });
  });

  it('puts text/plain before text/html and drops empty parts', () => {
    expect(toSendGridMessage(email({ text: '', html: '<b>x</b>' })).content).toEqual([
      { type: 'text/html', value: '<b>x</b>' },
    ]);
  });

  it('names each address once, first in to, then cc, then bcc', () => {
    const message = toSendGridMessage(
      email({
        to: [{ email: 'ana@example.com' }],
        cc: [{ email: 'ANA@example.com' }, { email: 'carl@example.com' }],
        bcc: [{ email: 'carl@example.com' }, { email: 'dora@example.com' }],
      }),
    );
    expect(message.personalizations).toEqual([
      {
        to: [{ email: 'ana@example.com' }],
        cc: [{ email: 'carl@example.com' }],
        bcc: [{ email: 'dora@example.com' }],
      },
    ]);
  });

  it('takes ; and , out of recipient names, which SendGrid refuses', () => {
    const message = toSendGridMessage(
      email({
        to: [
          { email: 'bo@example.com', name: 'Berg, Bo; Jr' },
          { email: 'x@example.com', name: ',;' },
        ],
      }),
    );
    expect(message.personalizations[0]!.to).toEqual([
      { email: 'bo@example.com', name: 'Berg Bo Jr' },
      { email: 'x@example.com' },
    ]);
  });

  it('keeps our Message-ID and X-Email-Id over a caller header of the same name', () => {
    const { headers } = toSendGridMessage(
      email({ headers: { 'x-email-id': 'spoof', 'message-id': '<spoof@x>', 'X-Ok': 'yes' } }),
    );
    expect(headers).toEqual({
      'X-Ok': 'yes',
      'Message-ID': '<em_123@freeface.test>',
      'X-Email-Id': 'em_123',
    });
  });

  it('drops the headers SendGrid reserves, in any case', () => {
    const { headers } = toSendGridMessage(
      email({ headers: { Received: 'from x', 'DKIM-Signature': 'v=1', 'x-sg-id': '1', 'X-SG-EID': '2' } }),
    );
    expect(Object.keys(headers)).toEqual(['Message-ID', 'X-Email-Id']);
  });

  it('encodes non-ASCII header values as RFC 2047 words', () => {
    const { headers } = toSendGridMessage(email({ headers: { 'X-Greeting': 'Grüße' } }));
    expect(headers['X-Greeting']).toBe('=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=');
  });

  it('keeps at most 10 unique ASCII categories of at most 255 characters', () => {
    const tags = ['a', 'a', 'naïve', 'x'.repeat(300), ...Array.from({ length: 12 }, (_, i) => `t${i}`)];
    const categories = toSendGridMessage(email({ tags })).categories!;
    expect(categories).toHaveLength(10);
    expect(categories.slice(0, 3)).toEqual(['a', 'x'.repeat(255), 't0']);
    expect(categories).not.toContain('naïve');
  });

  it('keeps custom_args under 10,000 bytes, email_id always in, dropping the metadata that does not fit', () => {
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'é'.repeat(500)]));
    const args = toSendGridMessage(email({ metadata })).custom_args;
    expect(Buffer.byteLength(JSON.stringify(args))).toBeLessThan(10_000);
    expect(args.email_id).toBe('em_123');
    expect(Object.keys(args)).toEqual([...Array.from({ length: 9 }, (_, i) => `k${i}`), 'email_id']);
    expect(Object.values(args).every((v) => typeof v === 'string')).toBe(true);
  });

  it('does not let metadata override email_id', () => {
    expect(toSendGridMessage(email({ metadata: { email_id: 'spoof' } })).custom_args).toEqual({
      email_id: 'em_123',
    });
  });

  it('guesses a missing attachment type from the file name and cleans what SendGrid refuses', () => {
    const [first, second] = toSendGridMessage(
      email({
        attachments: [
          { filename: 'notes, v2.txt', content: `${b64('line one')}\n${b64('two')}` },
          { filename: 'photo.jpg', content: b64('jpg'), contentId: '<photo@x>' },
        ],
      }),
    ).attachments!;
    expect(first).toEqual({
      content: `${b64('line one')}${b64('two')}`,
      filename: 'notes_ v2.txt',
      type: 'text/plain',
      disposition: 'attachment',
    });
    expect(second).toMatchObject({ type: 'image/jpeg', disposition: 'inline', content_id: 'photo@x' });
  });
});

/** The SDK's ResponseError: `code` is the status, `response.body` SendGrid's parsed JSON. */
function responseError(code: number, body: unknown, statusText = 'Error') {
  return Object.assign(new Error(statusText), { code, response: { headers: {}, body } });
}

const sendGridErrors = (...messages: [string, string | null][]) => ({
  errors: messages.map(([message, field]) => ({ message, field, help: null })),
});

describe('classifySendGridError', () => {
  it('makes a 400 permanent with SendGrid’s messages and fields', () => {
    const error = classifySendGridError(
      responseError(
        400,
        sendGridErrors(
          ['The from email does not contain a valid address.', 'from.email'],
          ['Does not contain a valid address.', 'personalizations.0.to.0.email'],
        ),
        'Bad Request',
      ),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe(
      '400 The from email does not contain a valid address. (from.email); ' +
        'Does not contain a valid address. (personalizations.0.to.0.email)',
    );
  });

  it.each([401, 403, 413])('makes a %i permanent', (status) => {
    const error = classifySendGridError(
      responseError(
        status,
        sendGridErrors(['The provided authorization grant is invalid, expired, or revoked', null]),
      ),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe(`${status} The provided authorization grant is invalid, expired, or revoked`);
  });

  it.each([429, 500, 502, 503])('makes a %i transient', (status) => {
    expect(classifySendGridError(responseError(status, sendGridErrors(['busy', null])))).toBeInstanceOf(
      TransientDeliveryError,
    );
  });

  it('falls back to the status text when SendGrid sent no error list', () => {
    expect(classifySendGridError(responseError(502, '<html>Bad gateway</html>', 'Bad Gateway')).message).toBe(
      '502 Bad Gateway',
    );
    expect(classifySendGridError(responseError(500, '{"errors":[{"message":"oops"}]}')).message).toBe(
      '500 oops',
    );
  });

  it('makes an error without an answer a transient network failure, without keeping the request config', () => {
    const axiosError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      isAxiosError: true,
      code: 'ECONNREFUSED',
      config: { headers: { Authorization: 'Bearer SG.secret' } },
    });
    const error = classifySendGridError(axiosError);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe('network error: connect ECONNREFUSED 127.0.0.1:9');
    expect(JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))).not.toContain('SG.secret');
  });

  it('makes an SDK refusal before any request permanent', () => {
    const error = classifySendGridError(new Error('String expected for `name`'));
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe('the SendGrid SDK refused the message: String expected for `name`');
  });
});

/** The provider with the real SDK against an in-process server: what goes out and how answers come back. */
describe('SendGridProvider over HTTP', () => {
  const apiKey = 'SG.unit-test-key.secret';
  let server: Server;
  let baseUrl: string;
  let answer: { status: number; headers?: Record<string, string>; body?: string };
  const received: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];

  const logger = { debug: jest.fn(), warn: jest.fn() } as unknown as AppLogger;
  const provider = (url = baseUrl) =>
    new SendGridProvider(
      { providers: { sendgrid: { apiKey, baseUrl: url } } } as unknown as AppConfig,
      logger,
    );

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => (received.length = 0));

  it('posts the mapped body to /v3/mail/send with the key and returns X-Message-Id', async () => {
    answer = { status: 202, headers: { 'X-Message-Id': 'sg-msg-1' } };
    await expect(provider().send(email())).resolves.toEqual({ providerMessageId: 'sg-msg-1' });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request).toMatchObject({ method: 'POST', url: '/v3/mail/send' });
    expect(request!.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(request!.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(request!.body)).toEqual(toSendGridMessage(email()));
  });

  it('keeps a base URL with a path prefix', async () => {
    answer = { status: 202, headers: { 'X-Message-Id': 'sg-msg-2' } };
    await provider(`${baseUrl}/proxy/`).send(email());
    expect(received[0]!.url).toBe('/proxy/v3/mail/send');
  });

  it('falls back to our Message-ID when SendGrid sends no X-Message-Id', async () => {
    answer = { status: 202 };
    await expect(provider().send(email())).resolves.toEqual({ providerMessageId: '<em_123@freeface.test>' });
  });

  it('turns a 400 into a permanent failure with SendGrid’s message', async () => {
    answer = {
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sendGridErrors(['The subject is required.', 'subject'])),
    };
    const failure = await provider()
      .send(email())
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
    expect((failure as Error).message).toBe('400 The subject is required. (subject)');
  });

  it('turns a 503 into a transient failure', async () => {
    answer = { status: 503, headers: { 'content-type': 'application/json' }, body: '{"errors":[]}' };
    await expect(provider().send(email())).rejects.toBeInstanceOf(TransientDeliveryError);
  });

  it('never puts the key in the reason, even if SendGrid echoed it', async () => {
    answer = {
      status: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sendGridErrors([`key ${apiKey} is revoked`, null])),
    };
    const failure = (await provider()
      .send(email())
      .catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
    expect(failure.message).toBe('401 key [redacted] is revoked');
  });

  it('turns a refused connection into a transient network failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = (await provider(`http://127.0.0.1:${port}`)
      .send(email())
      .catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(TransientDeliveryError);
    expect(failure.message).toMatch(/^network error: .*ECONNREFUSED/);
  });

  it('verifies and closes without a request', async () => {
    const sendgrid = provider();
    await sendgrid.verify();
    await sendgrid.close();
    expect(received).toHaveLength(0);
  });
});
