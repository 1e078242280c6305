import { simpleParser } from 'mailparser';
import { inboundEmail, PARSER_OPTIONS, type InboundEmail } from './inbound-message';

/** A message as an SMTP client writes it (CRLF line ends), parsed by the same parser as the ingress. */
const parse = (lines: string[]) => simpleParser(Buffer.from(lines.join('\r\n')), PARSER_OPTIONS);

const HEADERS = [
  'From: Billing <billing@freeface.test>',
  'To: Ana <ana@example.com>, bo@example.com',
  'Cc: carl@example.com',
  'Subject: Invoice 42',
  'Message-ID: <client-1@freeface.test>',
  'Date: Thu, 26 Nov 2026 10:00:00 +0000',
  'Received: from client.test by relay.test',
  'DKIM-Signature: v=1; a=rsa-sha256; d=freeface.test; b=abc',
  'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=relay.test; b=def',
  'Authentication-Results: relay.test; dkim=pass header.d=freeface.test',
  'X-Campaign: invoices',
  'X-Priority-Lane: HIGH',
  'List-Unsubscribe: <mailto:u@freeface.test>',
  'In-Reply-To: <thread-1@freeface.test>',
];

describe('inboundEmail', () => {
  it('takes recipients from the envelope, placed by the headers, and the rest of the message as it is', async () => {
    const parsed = await parse([...HEADERS, 'Content-Type: text/plain', '', 'Hello Ana.']);
    const inbound = inboundEmail(parsed, ['ana@example.com', 'Carl@Example.com', 'dora@example.com']);
    expect(inbound).toEqual({
      priority: 'high',
      request: {
        to: [{ email: 'ana@example.com', name: 'Ana' }],
        cc: [{ email: 'carl@example.com' }],
        bcc: [{ email: 'dora@example.com' }],
        from: { email: 'billing@freeface.test', name: 'Billing' },
        subject: 'Invoice 42',
        text: 'Hello Ana.',
        priority: 'high',
        headers: {
          'X-Campaign': 'invoices',
          'List-Unsubscribe': '<mailto:u@freeface.test>',
          'In-Reply-To': '<thread-1@freeface.test>',
        },
      },
    } satisfies InboundEmail);
    // bo@ is named in To but not in the envelope: the client did not send to him, nor do we.
  });

  it('keeps HTML, attachments and inline images with their Content-ID', async () => {
    const parsed = await parse([
      'From: billing@freeface.test',
      'To: ana@example.com',
      'Subject: Report',
      'MIME-Version: 1.0',
      'Content-Type: multipart/related; boundary="b"',
      '',
      '--b',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>See <img src="cid:logo@freeface"></p>',
      '--b',
      'Content-Type: image/png',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-ID: <logo@freeface>',
      'Content-Transfer-Encoding: base64',
      '',
      'iVBORw0KGgo=',
      '--b--',
    ]);
    const inbound = inboundEmail(parsed, ['ana@example.com']) as InboundEmail;
    expect(inbound.request).toMatchObject({
      html: '<p>See <img src="cid:logo@freeface"></p>',
      attachments: [
        {
          filename: 'logo.png',
          content: 'iVBORw0KGgo=',
          contentType: 'image/png',
          contentId: 'logo@freeface',
        },
      ],
    });
    expect(inbound.request).not.toHaveProperty('text');
    expect(inbound.priority).toBe('medium');
  });

  it('sends a lone Bcc recipient as To, refuses to disclose several, and names a bad lane', async () => {
    const undisclosed = await parse([
      'From: a@freeface.test',
      'To: undisclosed-recipients:;',
      'Subject: x',
      '',
      'x',
    ]);
    expect((inboundEmail(undisclosed, ['ana@example.com']) as InboundEmail).request.to).toEqual([
      { email: 'ana@example.com' },
    ]);
    expect(inboundEmail(undisclosed, ['ana@example.com', 'bo@example.com'])).toMatch(
      /none of the recipients/,
    );
    const onlyCc = await parse(['From: a@freeface.test', 'Cc: bo@example.com', 'Subject: x', '', 'x']);
    expect((inboundEmail(onlyCc, ['bo@example.com']) as InboundEmail).request).toMatchObject({
      to: [{ email: 'bo@example.com' }],
    });
    const lane = await parse([
      'From: a@freeface.test',
      'To: ana@example.com',
      'X-Priority-Lane: urgent',
      '',
      'x',
    ]);
    expect(inboundEmail(lane, ['ana@example.com'])).toBe('x-priority-lane must be one of high, medium, low');
  });

  it('carries provider instructions and Resent-* over, for the API check to refuse them', async () => {
    const parsed = await parse([
      'From: a@freeface.test',
      'To: ana@example.com',
      'Received: from client.test by relay.test',
      'X-SES-CONFIGURATION-SET: someone-elses',
      'X-Mailgun-Variables: {"a":1}',
      'Resent-From: boss@freeface.test',
      '',
      'x',
    ]);
    expect((inboundEmail(parsed, ['ana@example.com']) as InboundEmail).request.headers).toEqual({
      'X-SES-CONFIGURATION-SET': 'someone-elses',
      'X-Mailgun-Variables': '{"a":1}',
      'Resent-From': 'boss@freeface.test',
    });
  });
});
