import type { MailAddress } from '../common/mail-address';
import type { SendEmailDto } from './dto/send-email.dto';
import {
  composeGroupMessage,
  composeMessage,
  groupDataMerger,
  mergeGroupData,
  resolveSchedule,
} from './email-composer';

const DEFAULT_FROM: MailAddress = { email: 'noreply@example.com', name: 'FreeFace' };
const DAY_MS = 86_400_000;

/** A request body as the ValidationPipe hands it over (recipients already objects). */
const dto = (fields: Partial<SendEmailDto>): SendEmailDto => ({
  to: [{ email: 'ana@example.com' }],
  ...fields,
});

describe('composeMessage', () => {
  it('fills the defaults of an inline email: EMAIL_FROM, no cc or bcc, empty extras', () => {
    expect(composeMessage(dto({ subject: 'Welcome', text: 'Hello' }), DEFAULT_FROM)).toEqual({
      from: DEFAULT_FROM,
      to: [{ email: 'ana@example.com' }],
      cc: [],
      bcc: [],
      subject: 'Welcome',
      text: 'Hello',
      headers: {},
      attachments: [],
      tags: [],
      metadata: {},
    });
  });

  it('leaves out replyTo, text and html keys that were not given', () => {
    const message = composeMessage(dto({ subject: 'Welcome', html: '<p>Hello</p>' }), DEFAULT_FROM);
    expect(Object.keys(message)).not.toContain('replyTo');
    expect(Object.keys(message)).not.toContain('text');
    expect(message.html).toBe('<p>Hello</p>');
  });

  it('copies every field of a full inline request', () => {
    expect(
      composeMessage(
        dto({
          to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo' }],
          cc: [{ email: 'cc@example.com', name: 'Cy' }],
          bcc: [{ email: 'audit@example.com' }],
          from: { email: 'billing@example.com', name: 'Billing' },
          replyTo: { email: 'support@example.com' },
          subject: 'Invoice',
          text: 'See attached',
          html: '<p>See attached</p>',
          headers: { 'X-Campaign': 'billing' },
          tags: ['invoice'],
          metadata: { userId: '42' },
          attachments: [
            { filename: 'a.pdf', content: 'JVBERi0xLjQK', contentType: 'application/pdf' },
            { filename: 'logo.png', content: 'iVBORw0K', contentId: 'logo@freeface' },
          ],
        }),
        DEFAULT_FROM,
      ),
    ).toEqual({
      from: { email: 'billing@example.com', name: 'Billing' },
      to: [{ email: 'ana@example.com' }, { email: 'bo@example.com', name: 'Bo' }],
      cc: [{ email: 'cc@example.com', name: 'Cy' }],
      bcc: [{ email: 'audit@example.com' }],
      replyTo: { email: 'support@example.com' },
      subject: 'Invoice',
      text: 'See attached',
      html: '<p>See attached</p>',
      headers: { 'X-Campaign': 'billing' },
      tags: ['invoice'],
      metadata: { userId: '42' },
      attachments: [
        { filename: 'a.pdf', content: 'JVBERi0xLjQK', contentType: 'application/pdf' },
        { filename: 'logo.png', content: 'iVBORw0K', contentId: 'logo@freeface' },
      ],
    });
  });

  it('drops an empty display name', () => {
    const message = composeMessage(
      dto({ to: [{ email: 'ana@example.com', name: '' }], subject: 's', text: 't' }),
      DEFAULT_FROM,
    );
    expect(message.to).toEqual([{ email: 'ana@example.com' }]);
  });

  it("uses the template's subject, text and html when the request has no subject", () => {
    const message = composeMessage(dto({ template: 'welcome' }), DEFAULT_FROM, {
      subject: 'Welcome, Ana',
      text: 'Hello Ana',
      html: '<p>Hello Ana</p>',
    });
    expect(message).toMatchObject({ subject: 'Welcome, Ana', text: 'Hello Ana', html: '<p>Hello Ana</p>' });
  });

  it("lets the request's subject override the template's", () => {
    const message = composeMessage(dto({ template: 'welcome', subject: 'Custom' }), DEFAULT_FROM, {
      subject: 'Welcome, Ana',
      text: 'Hello Ana',
    });
    expect(message.subject).toBe('Custom');
  });

  it('has no html when the template renders none', () => {
    const message = composeMessage(dto({ template: 'plain' }), DEFAULT_FROM, { subject: 'S', text: 'T' });
    expect(Object.keys(message)).not.toContain('html');
    expect(message.text).toBe('T');
  });
});

describe('resolveSchedule', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');

  it('sends at once when sendAt is absent', () => {
    expect(resolveSchedule(undefined, now, 30)).toEqual({ delayMs: 0 });
  });

  it('sends at once when sendAt is in the past or exactly now', () => {
    expect(resolveSchedule('2026-05-01T00:00:00Z', now, 30)).toEqual({ delayMs: 0 });
    expect(resolveSchedule('2026-06-01T12:00:00Z', now, 30)).toEqual({ delayMs: 0 });
  });

  it('delays a future sendAt by the time left, and keeps the due time', () => {
    expect(resolveSchedule('2026-06-01T13:00:00Z', now, 30)).toEqual({
      delayMs: 3_600_000,
      sendAt: Date.parse('2026-06-01T13:00:00Z'),
    });
  });

  it('honours the offset of sendAt', () => {
    expect(resolveSchedule('2026-06-01T15:00:00+02:00', now, 30)).toEqual({
      delayMs: 3_600_000,
      sendAt: now + 3_600_000,
    });
  });

  it('accepts a sendAt exactly the maximum number of days ahead', () => {
    expect(resolveSchedule(new Date(now + 30 * DAY_MS).toISOString(), now, 30)).toEqual({
      delayMs: 30 * DAY_MS,
      sendAt: now + 30 * DAY_MS,
    });
  });

  it('refuses a sendAt beyond the maximum number of days, naming the limit', () => {
    expect(resolveSchedule(new Date(now + 30 * DAY_MS + 1).toISOString(), now, 30)).toEqual({
      problem: 'must be at most 30 days ahead',
    });
    expect(resolveSchedule('2027-01-01T00:00:00Z', now, 7)).toEqual({
      problem: 'must be at most 7 days ahead',
    });
  });

  it('refuses any future sendAt when the maximum is 0 days', () => {
    expect(resolveSchedule('2026-06-01T12:00:01Z', now, 0)).toEqual({
      problem: 'must be at most 0 days ahead',
    });
  });
});

describe('mergeGroupData', () => {
  it("puts the recipient's own data over the shared data, key by key, with recipient", () => {
    expect(
      mergeGroupData(
        { product: 'FreeFace', actionUrl: 'https://shared' },
        { email: 'ana@example.com', name: 'Ana', data: { actionUrl: 'https://own', name: 'Ana B.' } },
      ),
    ).toEqual({
      recipient: { email: 'ana@example.com', name: 'Ana' },
      product: 'FreeFace',
      actionUrl: 'https://own',
      name: 'Ana B.',
    });
  });

  it('lets the data replace recipient when it has one', () => {
    expect(mergeGroupData({ recipient: 'x' }, { email: 'a@example.com' })).toEqual({ recipient: 'x' });
  });
});

describe('groupDataMerger', () => {
  /** The definition: what mergeGroupData has always returned, key order included. */
  const spread = (
    shared: Record<string, unknown> | undefined,
    r: { email: string; name?: string; data?: Record<string, unknown> },
  ) => ({ recipient: { email: r.email, ...(r.name ? { name: r.name } : {}) }, ...shared, ...r.data });
  const cases: [string, Record<string, unknown> | undefined, Parameters<typeof spread>[1][]][] = [
    ['no shared data', undefined, [{ email: 'a@x.example' }, { email: 'b@x.example', data: { z: 1, a: 2 } }]],
    [
      'shared data without recipient',
      { product: 'FreeFace', url: 'https://shared', nested: { deep: [1, 2] } },
      [
        { email: 'a@x.example', name: 'A' },
        { email: 'b@x.example', name: '', data: { url: 'https://own', extra: true } },
        { email: 'c@x.example', data: { recipient: 'own recipient' } },
      ],
    ],
    [
      'shared data with recipient',
      { first: 1, recipient: 'shared recipient', last: 2 },
      [{ email: 'a@x.example' }, { email: 'b@x.example', data: { recipient: 'own', first: 0 } }],
    ],
    [
      'shared data of many keys',
      Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${i}`, i])),
      [{ email: 'a@x.example', data: { k5: 'own', k599: null } }],
    ],
  ];

  it.each(cases)('returns what spreading would, values and key order, with %s', (_, shared, recipients) => {
    const merge = groupDataMerger(shared);
    for (const recipient of recipients) {
      const merged = merge(recipient);
      expect(merged).toEqual(spread(shared, recipient));
      expect(Object.keys(merged)).toEqual(Object.keys(spread(shared, recipient)));
    }
  });

  it("gives each recipient an object of its own: one recipient's data never shows in another's", () => {
    const merge = groupDataMerger({ product: 'FreeFace' });
    const first = merge({ email: 'a@x.example', data: { only: 'a' } });
    const second = merge({ email: 'b@x.example' });
    expect(second).toEqual({ recipient: { email: 'b@x.example' }, product: 'FreeFace' });
    expect(first).not.toBe(second);
  });
});

describe('composeGroupMessage', () => {
  it('keeps the template and data to render at send time, and the rendered subject', () => {
    const message = composeGroupMessage(
      { email: 'ana@example.com', name: 'Ana' },
      { email: 'noreply@example.com' },
      'Welcome, Ana',
      { template: 'welcome', data: { name: 'Ana' } },
    );
    expect(message).toEqual({
      from: { email: 'noreply@example.com' },
      to: [{ email: 'ana@example.com', name: 'Ana' }],
      cc: [],
      bcc: [],
      subject: 'Welcome, Ana',
      render: { template: 'welcome', data: { name: 'Ana' } },
      headers: {},
      attachments: [],
      tags: [],
      metadata: {},
    });
  });
});
