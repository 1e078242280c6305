import type { EmailRecord } from './email-record';
import { toAcceptedDto, toStatusDto } from './email-responses';

const base: EmailRecord = {
  id: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d',
  status: 'queued',
  priority: 'high',
  service: 'billing',
  createdAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  attempts: 0,
  maxAttempts: 5,
  to: ['ada@example.com'],
  subject: 'Hello',
  tags: ['welcome'],
  metadata: { plan: 'pro' },
};

describe('toAcceptedDto', () => {
  it('answers the id, status and priority, with sendAt null when not scheduled', () => {
    expect(toAcceptedDto(base)).toEqual({ id: base.id, status: 'queued', priority: 'high', sendAt: null });
  });

  it('gives a scheduled email its sendAt as an ISO date', () => {
    const sendAt = Date.UTC(2026, 5, 1, 9);
    expect(toAcceptedDto({ ...base, status: 'scheduled', sendAt }).sendAt).toBe('2026-06-01T09:00:00.000Z');
  });
});

describe('toStatusDto', () => {
  it('shows every optional field, as null or empty when unknown', () => {
    expect(toStatusDto(base)).toEqual({
      id: base.id,
      status: 'queued',
      priority: 'high',
      provider: null,
      attempts: 0,
      maxAttempts: 5,
      createdAt: '2026-01-02T03:04:05.000Z',
      sendAt: null,
      sentAt: null,
      providerMessageId: null,
      lastError: null,
      service: 'billing',
      to: ['ada@example.com'],
      subject: 'Hello',
      template: null,
      groupId: null,
      tags: ['welcome'],
      metadata: { plan: 'pro' },
      suppressed: [],
    });
  });

  it('names the provider of the last attempt, or else the one the caller pinned', () => {
    expect(toStatusDto({ ...base, pinnedProvider: 'ses' }).provider).toBe('ses');
    expect(toStatusDto({ ...base, pinnedProvider: 'ses', provider: 'smtp' }).provider).toBe('smtp');
  });

  it('shows what is known of a sent email', () => {
    const sentAt = Date.UTC(2026, 0, 2, 3, 4, 6);
    const dto = toStatusDto({
      ...base,
      status: 'sent',
      provider: 'smtp',
      providerMessageId: '<m1@example.com>',
      sentAt,
      template: 'welcome',
      groupId: 'g1',
    });
    expect(dto).toMatchObject({
      status: 'sent',
      sentAt: '2026-01-02T03:04:06.000Z',
      providerMessageId: '<m1@example.com>',
      template: 'welcome',
      groupId: 'g1',
    });
  });
});
