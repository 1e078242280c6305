import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '../../common/validation-errors';
import { SendEmailDto } from './send-email.dto';

/** The field errors the API would answer for `body`, exactly as the global ValidationPipe produces them. */
function problemsOf(body: Record<string, unknown>) {
  const dto = plainToInstance(SendEmailDto, body);
  return flattenValidationErrors(validateSync(dto, { whitelist: true, forbidNonWhitelisted: true }));
}

const inline = { to: ['ana@example.com'], subject: 'Welcome', text: 'Hello Ana' };
const templated = { to: ['ana@example.com'], template: 'welcome', data: { name: 'Ana' } };
const recipients = (count: number, domain: string) =>
  Array.from({ length: count }, (_, i) => `user${i}@${domain}`);

describe('SendEmailDto validation', () => {
  describe('valid bodies', () => {
    it('accepts the inline form of the API.md example with zero errors', () => {
      expect(
        problemsOf({
          to: ['ana@example.com', { email: 'bo@example.com', name: 'Bo' }],
          cc: [],
          bcc: [],
          from: { email: 'noreply@example.com', name: 'FreeFace' },
          replyTo: 'support@example.com',
          subject: 'Welcome',
          text: '…',
          html: '<p>…</p>',
          priority: 'high',
          sendAt: '2026-12-01T09:00:00Z',
          provider: 'sendgrid',
          headers: { 'X-Campaign': 'onboarding' },
          tags: ['signup'],
          metadata: { userId: '42' },
          attachments: [{ filename: 'a.pdf', content: 'JVBERi0xLjQK', contentType: 'application/pdf' }],
        }),
      ).toEqual([]);
    });

    it('accepts the template form of the API.md example with zero errors', () => {
      expect(
        problemsOf({
          to: ['ana@example.com', { email: 'bo@example.com', name: 'Bo' }],
          cc: [],
          bcc: [],
          from: { email: 'noreply@example.com', name: 'FreeFace' },
          replyTo: 'support@example.com',
          subject: 'Welcome',
          template: 'welcome',
          data: { name: 'Ana' },
          priority: 'high',
          sendAt: '2026-12-01T09:00:00Z',
          provider: 'sendgrid',
          headers: { 'X-Campaign': 'onboarding' },
          tags: ['signup'],
          metadata: { userId: '42' },
          attachments: [{ filename: 'a.pdf', content: 'JVBERi0xLjQK', contentType: 'application/pdf' }],
        }),
      ).toEqual([]);
    });

    it('accepts the smallest inline and template bodies', () => {
      expect(problemsOf(inline)).toEqual([]);
      expect(problemsOf({ to: ['ana@example.com'], template: 'welcome' })).toEqual([]);
    });

    it('accepts html without text', () => {
      expect(problemsOf({ to: ['ana@example.com'], subject: 'Hi', html: '<p>Hi</p>' })).toEqual([]);
    });

    it('accepts a single address written as a string instead of a list', () => {
      expect(problemsOf({ ...inline, to: 'ana@example.com' })).toEqual([]);
    });

    it('turns string recipients into { email } objects', () => {
      const dto = plainToInstance(SendEmailDto, {
        ...inline,
        to: ['ana@example.com'],
        from: 'me@example.com',
      });
      expect(dto.to.map((r) => ({ ...r }))).toEqual([{ email: 'ana@example.com' }]);
      expect({ ...dto.from }).toEqual({ email: 'me@example.com' });
    });
  });

  describe('recipients', () => {
    it('points a bad address written as a string at its list position', () => {
      expect(problemsOf({ ...inline, to: ['bad'] })).toEqual([
        { field: 'to[0]', message: 'must be an email address' },
      ]);
    });

    it('points a bad address written as an object at its email field', () => {
      expect(problemsOf({ ...inline, to: [{ email: 'x' }] })).toEqual([
        { field: 'to[0].email', message: 'must be an email address' },
      ]);
    });

    it('points at the right position in cc and bcc', () => {
      expect(problemsOf({ ...inline, cc: 'bad', bcc: [{ email: 'bo@example.com' }, 'worse'] })).toEqual([
        { field: 'cc[0]', message: 'must be an email address' },
        { field: 'bcc[1]', message: 'must be an email address' },
      ]);
    });

    it('refuses a recipient that is not a string or object', () => {
      expect(problemsOf({ ...inline, to: ['ana@example.com', 5] })).toEqual([
        { field: 'to[1]', message: 'must be an email address' },
      ]);
    });

    it('refuses an empty recipient list', () => {
      expect(problemsOf({ ...inline, to: [] })).toEqual([
        { field: 'to', message: 'must name at least one recipient' },
      ]);
    });

    it('requires to', () => {
      const { to: _to, ...withoutTo } = inline;
      expect(problemsOf(withoutTo)).toEqual([
        { field: 'to', message: 'must name at least one recipient' },
        { field: 'to', message: 'must be a list of recipients' },
      ]);
    });

    it('accepts exactly 50 recipients over to, cc and bcc', () => {
      expect(
        problemsOf({
          ...inline,
          to: recipients(30, 'a.example'),
          cc: recipients(15, 'b.example'),
          bcc: recipients(5, 'c.example'),
        }),
      ).toEqual([]);
    });

    it('refuses more than 50 recipients over to, cc and bcc together', () => {
      expect(
        problemsOf({
          ...inline,
          to: recipients(30, 'a.example'),
          cc: recipients(15, 'b.example'),
          bcc: recipients(6, 'c.example'),
        }),
      ).toEqual([{ field: 'to', message: 'at most 50 recipients over to, cc and bcc' }]);
    });

    it('refuses more than 50 recipients in to alone', () => {
      expect(problemsOf({ ...inline, to: recipients(51, 'a.example') })).toEqual([
        { field: 'to', message: 'at most 50 recipients over to, cc and bcc' },
      ]);
    });

    it('refuses CR or LF in an address or a display name', () => {
      expect(
        problemsOf({
          ...inline,
          to: [
            'ana@example.com\r\nBcc: eve@example.com',
            { email: 'bo@example.com', name: 'Bo\r\nBcc: eve@x.com' },
          ],
        }),
      ).toEqual([
        { field: 'to[0]', message: 'must be an email address' },
        { field: 'to[1].name', message: 'must not contain line breaks' },
      ]);
    });

    it('refuses a display name over 200 characters', () => {
      expect(problemsOf({ ...inline, to: [{ email: 'ana@example.com', name: 'A'.repeat(201) }] })).toEqual([
        { field: 'to[0].name', message: 'must be at most 200 characters' },
      ]);
    });

    it('checks from and replyTo like recipients', () => {
      expect(problemsOf({ ...inline, from: 'bad', replyTo: { email: 'x', name: 'a\nb' } })).toEqual([
        { field: 'from', message: 'must be an email address' },
        { field: 'replyTo.email', message: 'must be an email address' },
        { field: 'replyTo.name', message: 'must not contain line breaks' },
      ]);
    });
  });

  describe('unknown fields', () => {
    it('refuses an unknown top-level field', () => {
      expect(problemsOf({ ...inline, sender: 'me@example.com' })).toEqual([
        { field: 'sender', message: 'is not a known field' },
      ]);
    });

    it('refuses unknown fields inside recipients and attachments', () => {
      expect(
        problemsOf({
          ...inline,
          to: [{ email: 'ana@example.com', nickname: 'A' }],
          attachments: [{ filename: 'a.txt', content: 'QQ==', size: 1 }],
        }),
      ).toEqual([
        { field: 'to[0].nickname', message: 'is not a known field' },
        { field: 'attachments[0].size', message: 'is not a known field' },
      ]);
    });
  });

  describe('content and template', () => {
    it('requires subject and text or html without a template', () => {
      expect(problemsOf({ to: ['ana@example.com'] })).toEqual([
        { field: 'subject', message: 'is required unless a template is given' },
        { field: 'text', message: 'is required (text or html) unless a template is given' },
      ]);
    });

    it('requires subject without a template even when text is given', () => {
      expect(problemsOf({ to: ['ana@example.com'], text: 'Hello' })).toEqual([
        { field: 'subject', message: 'is required unless a template is given' },
      ]);
    });

    it('lets a subject override the template subject', () => {
      expect(problemsOf({ ...templated, subject: 'Custom subject' })).toEqual([]);
    });

    it('refuses text and html combined with a template', () => {
      expect(problemsOf({ ...templated, text: 'Hello', html: '<p>Hello</p>' })).toEqual([
        { field: 'text', message: 'cannot be combined with template' },
        { field: 'html', message: 'cannot be combined with template' },
      ]);
    });

    it('refuses data without a template', () => {
      expect(problemsOf({ ...inline, data: { name: 'Ana' } })).toEqual([
        { field: 'data', message: 'is only used with template' },
      ]);
    });

    it('refuses data that is not an object', () => {
      expect(problemsOf({ ...templated, data: ['Ana'] })).toEqual([
        { field: 'data', message: 'must be an object' },
      ]);
    });

    it('refuses a template name with other characters', () => {
      expect(problemsOf({ to: ['ana@example.com'], template: '../welcome' })).toEqual([
        { field: 'template', message: 'must be a template name: lower-case letters, digits, - and _' },
      ]);
    });

    it('refuses an empty or blank subject', () => {
      expect(problemsOf({ ...inline, subject: '  ' })).toEqual([
        { field: 'subject', message: 'must be a non-empty string' },
      ]);
      expect(problemsOf({ ...inline, subject: 42 })).toEqual([
        { field: 'subject', message: 'must be a non-empty string' },
      ]);
    });

    it('refuses a subject over 998 characters and accepts one of 998', () => {
      expect(problemsOf({ ...inline, subject: 's'.repeat(998) })).toEqual([]);
      expect(problemsOf({ ...inline, subject: 's'.repeat(999) })).toEqual([
        { field: 'subject', message: 'must be at most 998 characters' },
      ]);
    });

    it('refuses CR or LF in the subject', () => {
      expect(problemsOf({ ...inline, subject: 'Hi\r\nBcc: eve@example.com' })).toEqual([
        { field: 'subject', message: 'must not contain line breaks' },
      ]);
      expect(problemsOf({ ...inline, subject: 'Hi\nthere' })).toEqual([
        { field: 'subject', message: 'must not contain line breaks' },
      ]);
    });

    it('refuses text or html that is not a string', () => {
      expect(problemsOf({ ...inline, text: 5, html: { p: 1 } })).toEqual([
        { field: 'text', message: 'must be a string' },
        { field: 'html', message: 'must be a string' },
      ]);
    });
  });

  describe('priority, sendAt and provider', () => {
    it('accepts each priority', () => {
      for (const priority of ['high', 'medium', 'low'])
        expect(problemsOf({ ...inline, priority })).toEqual([]);
    });

    it('names the accepted values of priority and provider', () => {
      expect(problemsOf({ ...inline, priority: 'urgent', provider: 'postmark' })).toEqual([
        { field: 'priority', message: 'must be one of high, medium, low' },
        { field: 'provider', message: 'must be one of smtp, sendgrid, mailgun, ses' },
      ]);
    });

    it('refuses a sendAt that is not an RFC 3339 date-time with a time zone', () => {
      const sendAts = [
        '2026-12-01 09:00',
        'tomorrow',
        '12/01/2026',
        '20261201T090000Z',
        '2026-W48-2',
        '2026-335',
        '2026-12-01T09:00:00',
      ];
      for (const sendAt of sendAts) {
        expect(problemsOf({ ...inline, sendAt })).toEqual([
          { field: 'sendAt', message: 'must be a date-time with a time zone, such as 2026-12-01T09:00:00Z' },
        ]);
      }
    });

    it('accepts a sendAt with an offset and fractional seconds', () => {
      expect(problemsOf({ ...inline, sendAt: '2026-12-01T09:00:00.123+02:00' })).toEqual([]);
    });
  });

  describe('headers', () => {
    it('accepts a custom header such as X-Campaign', () => {
      expect(
        problemsOf({ ...inline, headers: { 'X-Campaign': 'onboarding', 'List-Unsubscribe': '<x>' } }),
      ).toEqual([]);
    });

    it.each([
      'From',
      'Content-Type',
      'MIME-Version',
      'X-Email-Id',
      'to',
      'message-id',
      'content-transfer-encoding',
    ])('refuses the reserved header %s', (name) => {
      expect(problemsOf({ ...inline, headers: { [name]: 'x' } })).toEqual([
        { field: 'headers', message: `header "${name}" is set by the service and cannot be overridden` },
      ]);
    });

    it.each([
      ['X-SES-CONFIGURATION-SET', 'would instruct the email provider'],
      ['x-ses-message-tags', 'would instruct the email provider'],
      ['X-SES-SOURCE-ARN', 'would instruct the email provider'],
      ['X-SMTPAPI', 'would instruct the email provider'],
      ['X-Mailgun-Variables', 'would instruct the email provider'],
      ['X-SG-EID', 'would instruct the email provider'],
      ['Received', 'is written by mail servers in transit'],
      ['DKIM-Signature', 'is written by mail servers in transit'],
      ['ARC-Seal', 'is written by mail servers in transit'],
      ['Authentication-Results', 'is written by mail servers in transit'],
      ['Resent-From', 'is written by mail servers in transit'],
    ])('refuses %s, naming it', (name, why) => {
      expect(problemsOf({ ...inline, headers: { 'X-Campaign': 'ok', [name]: 'x' } })).toEqual([
        { field: 'headers', message: `header "${name}" ${why} and cannot be set` },
      ]);
    });

    it('refuses CR or LF in a header value', () => {
      expect(problemsOf({ ...inline, headers: { 'X-Campaign': 'a\r\nBcc: eve@example.com' } })).toEqual([
        { field: 'headers', message: 'value of "X-Campaign" must not contain line breaks' },
      ]);
    });

    it('refuses a header name with a colon or a space', () => {
      expect(problemsOf({ ...inline, headers: { 'X-A:B': 'x' } })).toEqual([
        { field: 'headers', message: 'key "X-A:B" must be a header name (printable ASCII without ":")' },
      ]);
      expect(problemsOf({ ...inline, headers: { 'X A': 'x' } })).toEqual([
        { field: 'headers', message: 'key "X A" must be a header name (printable ASCII without ":")' },
      ]);
    });

    it('refuses headers that are not an object of strings', () => {
      expect(problemsOf({ ...inline, headers: ['X-Campaign'] })).toEqual([
        { field: 'headers', message: 'must be an object of strings' },
      ]);
      expect(problemsOf({ ...inline, headers: { 'X-Count': 3 } })).toEqual([
        { field: 'headers', message: 'value of "X-Count" must be a string' },
      ]);
    });

    it('refuses more than 50 headers', () => {
      const headers = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, 'v']));
      expect(problemsOf({ ...inline, headers })).toEqual([
        { field: 'headers', message: 'must have at most 50 entries' },
      ]);
    });
  });

  describe('tags', () => {
    it('accepts tags of letters, digits and _ . : -', () => {
      expect(problemsOf({ ...inline, tags: ['signup', 'Campaign_2026.q4:a-b'] })).toEqual([]);
    });

    it('refuses a tag with other characters, or an empty tag', () => {
      const message = 'each tag must be 1-100 of A-Z a-z 0-9 _ . : -';
      expect(problemsOf({ ...inline, tags: ['ok', 'bad tag'] })).toEqual([{ field: 'tags', message }]);
      expect(problemsOf({ ...inline, tags: [''] })).toEqual([{ field: 'tags', message }]);
      expect(problemsOf({ ...inline, tags: ['t'.repeat(101)] })).toEqual([{ field: 'tags', message }]);
    });

    it('refuses more than 20 tags', () => {
      expect(problemsOf({ ...inline, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })).toEqual([
        { field: 'tags', message: 'must contain no more than 20 elements' },
      ]);
    });
  });

  describe('metadata', () => {
    it('accepts up to 20 string entries', () => {
      const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
      expect(problemsOf({ ...inline, metadata })).toEqual([]);
    });

    it('refuses more than 20 entries', () => {
      const metadata = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
      expect(problemsOf({ ...inline, metadata })).toEqual([
        { field: 'metadata', message: 'must have at most 20 entries' },
      ]);
    });

    it('refuses a value that is not a string', () => {
      expect(problemsOf({ ...inline, metadata: { userId: 42 } })).toEqual([
        { field: 'metadata', message: 'value of "userId" must be a string' },
      ]);
    });

    it('refuses a value over 500 characters and accepts one of 500', () => {
      expect(problemsOf({ ...inline, metadata: { note: 'n'.repeat(500) } })).toEqual([]);
      expect(problemsOf({ ...inline, metadata: { note: 'n'.repeat(501) } })).toEqual([
        { field: 'metadata', message: 'value of "note" must be at most 500 characters' },
      ]);
    });

    it('refuses a key outside 1-64 of A-Z a-z 0-9 _ . -', () => {
      expect(problemsOf({ ...inline, metadata: { 'user id': '1' } })).toEqual([
        { field: 'metadata', message: 'key "user id" must be 1-64 of A-Z a-z 0-9 _ . -' },
      ]);
      expect(problemsOf({ ...inline, metadata: { ['k'.repeat(65)]: '1' } })).toEqual([
        { field: 'metadata', message: `key "${'k'.repeat(64)}" must be 1-64 of A-Z a-z 0-9 _ . -` },
      ]);
    });
  });

  describe('attachments', () => {
    const attachment = { filename: 'invoice.pdf', content: 'JVBERi0xLjQK' };

    it('accepts an attachment with a content type and a content id', () => {
      expect(
        problemsOf({
          ...inline,
          attachments: [{ ...attachment, contentType: 'application/pdf', contentId: 'logo@freeface' }],
        }),
      ).toEqual([]);
    });

    it('refuses a file name with a path', () => {
      for (const filename of ['../invoice.pdf', 'docs/invoice.pdf', 'C:\\docs\\invoice.pdf']) {
        expect(problemsOf({ ...inline, attachments: [{ ...attachment, filename }] })).toEqual([
          { field: 'attachments[0].filename', message: 'must be a file name without a path' },
        ]);
      }
    });

    it('refuses a file name with a line break', () => {
      expect(problemsOf({ ...inline, attachments: [{ ...attachment, filename: 'a\r\n.pdf' }] })).toEqual([
        { field: 'attachments[0].filename', message: 'must not contain line breaks' },
      ]);
    });

    it('refuses content that is not base64', () => {
      expect(
        problemsOf({ ...inline, attachments: [attachment, { ...attachment, content: 'not base64!' }] }),
      ).toEqual([{ field: 'attachments[1].content', message: 'must be base64' }]);
    });

    it('refuses a content type that is not a MIME type', () => {
      expect(problemsOf({ ...inline, attachments: [{ ...attachment, contentType: 'pdf file' }] })).toEqual([
        { field: 'attachments[0].contentType', message: 'must be a MIME type such as application/pdf' },
      ]);
    });

    it('refuses more than 20 attachments', () => {
      expect(problemsOf({ ...inline, attachments: Array.from({ length: 21 }, () => attachment) })).toEqual([
        { field: 'attachments', message: 'must contain no more than 20 elements' },
      ]);
    });
  });

  it('lists every problem of a body at once: unknown fields first, then the others in field order', () => {
    expect(
      problemsOf({
        to: ['bad'],
        subject: 'Hi\nthere',
        text: 'x',
        priority: 'urgent',
        tags: ['no spaces'],
        extra: true,
      }),
    ).toEqual([
      { field: 'extra', message: 'is not a known field' },
      { field: 'to[0]', message: 'must be an email address' },
      { field: 'subject', message: 'must not contain line breaks' },
      { field: 'priority', message: 'must be one of high, medium, low' },
      { field: 'tags', message: 'each tag must be 1-100 of A-Z a-z 0-9 _ . : -' },
    ]);
  });
});
