import type { EmailEvent } from '../events/email-events';
import { webhookPayload } from './webhook-payload';

const EMAIL_ID = '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d';
const at = Date.parse('2026-11-26T10:00:00.000Z');
const event = (overrides: Partial<EmailEvent>): EmailEvent => ({
  event: 'sent',
  emailId: EMAIL_ID,
  service: 'billing',
  at,
  ...overrides,
});
const facts = { status: 'sent', to: ['ana@example.com', 'bo@example.com'], provider: 'smtp' };

describe('webhookPayload', () => {
  it('describes a sent email with its provider message id and every recipient', () => {
    const sent = event({ provider: 'smtp', detail: { providerMessageId: '<x@example.com>' } });
    expect(webhookPayload('email.sent', sent, { ...facts, status: 'sending' })).toEqual({
      type: 'email.sent',
      timestamp: '2026-11-26T10:00:00.000Z',
      data: {
        emailId: EMAIL_ID,
        service: 'billing',
        status: 'sent',
        to: ['ana@example.com', 'bo@example.com'],
        provider: 'smtp',
        providerMessageId: '<x@example.com>',
        reason: null,
      },
    });
  });

  it("names the recipient a bounce concerns, and the bounce's code", () => {
    const bounced = event({
      event: 'bounced',
      provider: 'mailgun',
      recipients: ['bo@example.com'],
      detail: { code: 550 },
    });
    expect(webhookPayload('email.bounced', bounced, facts).data).toMatchObject({
      status: 'bounced',
      to: ['bo@example.com'],
      provider: 'mailgun',
      reason: 'hard_bounce (550)',
    });
  });

  it('says retrying and dead with the provider reason', () => {
    const retry = event({ event: 'retry_scheduled', detail: { reason: '421 try later' } });
    expect(webhookPayload('email.failed', retry, facts).data).toMatchObject({
      status: 'retrying',
      reason: '421 try later',
    });
    const dead = event({ event: 'dead_lettered', detail: { reason: '550 no such user' } });
    expect(webhookPayload('email.dead', dead, facts).data).toMatchObject({
      status: 'dead',
      reason: '550 no such user',
    });
  });

  it('tells a wholly suppressed email from one that goes on to its other recipients', () => {
    const all = event({
      event: 'suppressed',
      recipients: ['ana@example.com'],
      detail: { remaining: 0, reasons: ['hard_bounce'] },
    });
    expect(webhookPayload('email.suppressed', all, facts).data).toMatchObject({
      status: 'suppressed',
      to: ['ana@example.com'],
      reason: 'hard_bounce',
    });
    const some = event({
      event: 'suppressed',
      recipients: ['ana@example.com'],
      detail: { remaining: 1, reasons: ['complaint'] },
    });
    expect(webhookPayload('email.suppressed', some, { ...facts, status: 'sending' }).data.status).toBe(
      'sending',
    );
  });
});
