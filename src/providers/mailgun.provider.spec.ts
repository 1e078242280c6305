import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/app-config';
import type { AppLogger } from '../logging/app-logger';
import { PermanentDeliveryError, TransientDeliveryError } from './delivery-errors';
import {
  classifyMailgunError,
  formatAddress,
  MailgunProvider,
  mailgunTags,
  toMailgunMessage,
} from './mailgun.provider';
import type { OutboundEmail } from './outbound-email';

const b64 = (text: string) => Buffer.from(text).toString('base64');

const EMAIL: OutboundEmail = {
  id: 'em_01HZX',
  from: { email: 'noreply@freeface.test', name: 'FreeFace Tests' },
  to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo Berg' }],
  cc: [{ email: 'carl@example.com' }],
  bcc: [{ email: 'dora@example.com' }],
  replyTo: { email: 'support@example.com', name: 'Support' },
  subject: 'Your invoice 42',
  text: 'Hello Ana',
  html: '<p>Hello Ana</p>',
  headers: { 'X-Campaign': 'invoices' },
  tags: ['invoice'],
  metadata: { invoiceId: '42' },
  attachments: [
    { filename: 'invoice.pdf', content: b64('%PDF-1.4'), contentType: 'application/pdf' },
    { filename: 'notes.txt', content: b64('line one\n') },
  ],
};

/** A file part as [name, content type, text], which is what the wire carries of it. */
async function describeFiles(files: unknown): Promise<[string, string, string][]> {
  return Promise.all(
    (files as File[]).map(
      async (file) => [file.name, file.type, await file.text()] as [string, string, string],
    ),
  );
}

/** An APIError as mailgun.js builds it (the class is not exported). */
function apiError(status: number, message: string, details: string) {
  return Object.assign(new Error(message), { type: 'MailgunAPIError', status, details });
}

describe('toMailgunMessage', () => {
  it('maps every part of the email to the documented form fields', async () => {
    const { attachment, ...fields } = toMailgunMessage(EMAIL);
    expect(fields).toEqual({
      from: 'FreeFace Tests <noreply@freeface.test>',
      to: ['ana@example.com', 'Bo Berg <bo@example.com>'],
      cc: ['carl@example.com'],
      bcc: ['dora@example.com'],
      subject: 'Your invoice 42',
      text: 'Hello Ana',
      html: '<p>Hello Ana</p>',
      'h:X-Campaign': 'invoices',
      'h:Reply-To': 'Support <support@example.com>',
      'h:Message-Id': '<em_01HZX@freeface.test>',
      'h:X-Email-Id': 'em_01HZX',
      'o:tag': ['invoice'],
      'v:invoiceId': '42',
      'v:email_id': 'em_01HZX',
    });
    expect(await describeFiles(attachment)).toEqual([
      ['invoice.pdf', 'application/pdf', '%PDF-1.4'],
      ['notes.txt', 'text/plain', 'line one\n'],
    ]);
  });

  it('leaves out what the email does not have', () => {
    const fields = toMailgunMessage({
      ...EMAIL,
      cc: [],
      bcc: [],
      replyTo: undefined,
      html: undefined,
      headers: {},
      tags: [],
      metadata: {},
      attachments: [],
    });
    expect(Object.keys(fields)).toEqual([
      'from',
      'to',
      'subject',
      'text',
      'h:Message-Id',
      'h:X-Email-Id',
      'v:email_id',
    ]);
  });

  it('sends an inline attachment as `inline`, named by its content id, which Mailgun makes its Content-ID', async () => {
    const fields = toMailgunMessage({
      ...EMAIL,
      attachments: [
        { filename: 'logo.png', content: b64('png'), contentId: 'logo@freeface' },
        { filename: 'terms.pdf', content: b64('pdf') },
      ],
    });
    expect(await describeFiles(fields.inline)).toEqual([['logo@freeface', 'image/png', 'png']]);
    expect(await describeFiles(fields.attachment)).toEqual([['terms.pdf', 'application/pdf', 'pdf']]);
  });

  it('keeps its own Reply-To, Message-Id and X-Email-Id over custom headers of those names', () => {
    const fields = toMailgunMessage({
      ...EMAIL,
      headers: { 'reply-to': 'eve@evil.test', 'X-EMAIL-ID': 'forged', 'X-Campaign': 'invoices' },
    });
    const headers = Object.keys(fields).filter((key) => key.startsWith('h:'));
    expect(headers).toEqual(['h:X-Campaign', 'h:Reply-To', 'h:Message-Id', 'h:X-Email-Id']);
    expect(fields['h:X-Email-Id']).toBe('em_01HZX');
  });

  it('gives v:email_id the email id even when metadata has a key of that name', () => {
    const fields = toMailgunMessage({ ...EMAIL, metadata: { email_id: 'forged', plan: 'pro' } });
    expect(fields['v:email_id']).toBe('em_01HZX');
    expect(fields['v:plan']).toBe('pro');
  });

  it('takes the Message-Id domain from the sender', () => {
    const fields = toMailgunMessage({ ...EMAIL, from: { email: 'billing@mail.example.org' } });
    expect(fields['h:Message-Id']).toBe('<em_01HZX@mail.example.org>');
    expect(fields.from).toBe('billing@mail.example.org');
  });
});

describe('mailgunTags', () => {
  it('keeps the first 3 tags, Mailgun taking no more per message', () => {
    expect(mailgunTags(['a', 'b', 'c', 'd', 'e'])).toEqual(['a', 'b', 'c']);
  });

  it('drops a tag that repeats another but for case, as Mailgun tags ignore case', () => {
    expect(mailgunTags(['Invoice', 'invoice', 'monthly', 'INVOICE', 'eu'])).toEqual([
      'Invoice',
      'monthly',
      'eu',
    ]);
  });

  it('drops tags that are not ASCII or longer than 128 characters', () => {
    expect(mailgunTags(['café', 'x'.repeat(129), 'x'.repeat(128), 'ok'])).toEqual(['x'.repeat(128), 'ok']);
  });
});

describe('formatAddress', () => {
  it('writes a bare address without a name', () => {
    expect(formatAddress({ email: 'ana@example.com' })).toBe('ana@example.com');
  });

  it('writes a plain name as is', () => {
    expect(formatAddress({ email: 'bo@example.com', name: "Bo O'Berg" })).toBe("Bo O'Berg <bo@example.com>");
  });

  it('quotes a name with a comma, which would otherwise split the recipient in two', () => {
    expect(formatAddress({ email: 'bo@example.com', name: 'Berg, Bo' })).toBe('"Berg, Bo" <bo@example.com>');
  });

  it('escapes quotes and backslashes inside a quoted name', () => {
    expect(formatAddress({ email: 'bo@example.com', name: 'Bo "The\\Boss"' })).toBe(
      '"Bo \\"The\\\\Boss\\"" <bo@example.com>',
    );
  });

  it('quotes a name with letters beyond ASCII and leaves their encoding to Mailgun', () => {
    expect(formatAddress({ email: 'zoe@example.com', name: 'Zoë' })).toBe('"Zoë" <zoe@example.com>');
  });
});

describe('classifyMailgunError', () => {
  const KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';

  it("treats a 400 as permanent, with Mailgun's message as the reason", () => {
    const error = classifyMailgunError(
      apiError(400, 'Bad Request', "'to' parameter is not a valid address. please check documentation"),
      KEY,
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe("400 'to' parameter is not a valid address. please check documentation");
    expect(error.provider).toBe('mailgun');
  });

  it.each([
    [401, 'Unauthorized', 'Forbidden'],
    [403, 'Forbidden', 'Domain example.com is not allowed to send: Free accounts are for test purposes only'],
    [404, 'Not Found', 'Domain not found: example.com'],
    [413, 'Payload Too Large', 'Request Entity Too Large'],
  ])('treats %i as permanent', (status, statusText, details) => {
    const error = classifyMailgunError(apiError(status, statusText, details), KEY);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe(`${status} ${details}`);
  });

  it.each([
    [429, 'Too Many Requests', 'Too many requests'],
    [500, 'Internal Server Error', 'Internal error'],
    [502, 'Bad Gateway', ''],
    [503, 'Service Unavailable', 'Service temporarily unavailable'],
  ])('treats %i as transient', (status, statusText, details) => {
    const error = classifyMailgunError(apiError(status, statusText, details), KEY);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe(`${status} ${details || statusText}`);
  });

  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'],
    ['ECONNRESET', 'socket hang up'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND api.mailgun.net'],
    ['ECONNABORTED', 'timeout of 20000ms exceeded'],
    ['ERR_NETWORK', 'Network Error'],
  ])(
    'treats %s, which the SDK reports as a 400 without an answer, as a transient network error',
    (code, text) => {
      const error = classifyMailgunError(apiError(400, code, text), KEY);
      expect(error).toBeInstanceOf(TransientDeliveryError);
      expect(error.message).toBe(`network error: ${text}`);
    },
  );

  it('treats a 400 with neither reason phrase nor code as no answer', () => {
    expect(classifyMailgunError(apiError(400, '', 'aborted'), KEY)).toBeInstanceOf(TransientDeliveryError);
  });

  it('treats an error that is not an API error as a network error', () => {
    const error = classifyMailgunError(new TypeError('fetch failed'), KEY);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect(error.message).toBe('network error: fetch failed');
  });

  it('uses the reason phrase instead of an HTML error page', () => {
    const error = classifyMailgunError(
      apiError(502, 'Bad Gateway', '<html>\n<body><h1>502 Bad Gateway</h1></body>\n</html>'),
      KEY,
    );
    expect(error.message).toBe('502 Bad Gateway');
  });

  it('never lets the API key, or the basic-auth value made from it, into the reason', () => {
    const basic = Buffer.from(`api:${KEY}`).toString('base64');
    const error = classifyMailgunError(apiError(401, 'Unauthorized', `bad key ${KEY} (Basic ${basic})`), KEY);
    expect(error.message).toBe('401 bad key [redacted] (Basic [redacted])');
    const network = classifyMailgunError(apiError(400, 'ECONNREFUSED', `refused for ${KEY}`), KEY);
    expect(network.message).not.toContain(KEY);
  });
});

describe('MailgunProvider with the SDK against a local server', () => {
  const KEY = 'key-unit-test-0123456789';
  let server: Server;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  let url: string;

  const logger = { debug: jest.fn(), warn: jest.fn(), info: jest.fn(), error: jest.fn() };
  const provider = (baseUrl: string) =>
    new MailgunProvider(
      {
        providers: { mailgun: { apiKey: KEY, domain: 'mg.freeface.test', url: baseUrl } },
      } as unknown as AppConfig,
      logger as unknown as AppLogger,
    );

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("returns Mailgun's id as the provider message id", async () => {
    let seen: { path?: string; authorization?: string; contentType?: string } = {};
    answer = (req, res) => {
      seen = {
        path: req.url,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: '<20260101.1@mg.freeface.test>', message: 'Queued. Thank you.' }));
    };
    await expect(provider(url).send(EMAIL)).resolves.toEqual({
      providerMessageId: '<20260101.1@mg.freeface.test>',
    });
    expect(seen.path).toBe('/v3/mg.freeface.test/messages');
    expect(seen.authorization).toBe(`Basic ${Buffer.from(`api:${KEY}`).toString('base64')}`);
    expect(seen.contentType).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('records our Message-ID when Mailgun accepts without an id, as sending again could deliver twice', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Queued. Thank you.' }));
    };
    await expect(provider(url).send(EMAIL)).resolves.toEqual({
      providerMessageId: '<em_01HZX@freeface.test>',
    });
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it("turns a 400 answer into a permanent failure with Mailgun's message", async () => {
    answer = (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: "'from' parameter is missing" }));
    };
    const error: unknown = await provider(url)
      .send(EMAIL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as Error).message).toBe("400 'from' parameter is missing");
  });

  it('turns a refused connection into a transient failure, not the 400 the SDK reports', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error: unknown = await provider(`http://127.0.0.1:${port}`)
      .send(EMAIL)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientDeliveryError);
    expect((error as Error).message).toMatch(/^network error: connect ECONNREFUSED/);
  });

  it('verifies and closes without a network call', async () => {
    const mailgun = provider('http://127.0.0.1:1');
    await expect(mailgun.verify()).resolves.toBeUndefined();
    await expect(mailgun.close()).resolves.toBeUndefined();
  });
});
