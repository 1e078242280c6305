import { verdictOn, type UnfinishedEmail } from './reconcile-verdict';

const NOW = 1_800_000_000_000;
const email = (extra: Partial<UnfinishedEmail> = {}): UnfinishedEmail => ({
  id: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d',
  status: 'queued',
  priority: 'medium',
  service: 'billing',
  attempts: 0,
  maxAttempts: 3,
  ...extra,
});

describe('verdictOn', () => {
  it('forgets an email whose record is gone or that has finished', () => {
    expect(verdictOn(undefined, 'missing', NOW)).toEqual({ kind: 'forget' });
    for (const status of ['sent', 'dead', 'cancelled', 'suppressed', 'delivered'] as const)
      expect(verdictOn(email({ status }), 'finished', NOW)).toEqual({ kind: 'forget' });
  });

  it('leaves an email that a job carries, whether it waits or a worker holds it', () => {
    for (const status of ['queued', 'sending', 'retrying', 'scheduled'] as const)
      for (const job of ['pending', 'locked'] as const)
        expect(verdictOn(email({ status, sendAt: NOW - 1 }), job, NOW)).toEqual({
          kind: 'healthy',
          seenAt: NOW,
        });
  });

  it('waits for the sendAt of a scheduled email, even without a job, and looks again from then', () => {
    expect(verdictOn(email({ status: 'scheduled', sendAt: NOW + 60_000 }), 'missing', NOW)).toEqual({
      kind: 'healthy',
      seenAt: NOW + 60_000,
    });
    expect(verdictOn(email({ status: 'scheduled', sendAt: NOW + 60_000 }), 'pending', NOW)).toEqual({
      kind: 'healthy',
      seenAt: NOW + 60_000,
    });
  });

  it('queues again an email that no job carries while it has attempts left', () => {
    expect(verdictOn(email(), 'missing', NOW)).toEqual({ kind: 'requeue' });
    expect(verdictOn(email(), 'finished', NOW)).toEqual({ kind: 'requeue' });
    expect(verdictOn(email({ status: 'scheduled', sendAt: NOW - 1 }), 'missing', NOW)).toEqual({
      kind: 'requeue',
    });
    expect(verdictOn(email({ status: 'retrying', attempts: 2 }), 'finished', NOW)).toEqual({
      kind: 'requeue',
    });
    expect(verdictOn(email({ status: 'sending', attempts: 1 }), 'missing', NOW)).toEqual({ kind: 'requeue' });
  });

  it('dead-letters an interrupted email whose attempts are spent, saying so', () => {
    expect(verdictOn(email({ status: 'sending', attempts: 3 }), 'missing', NOW)).toEqual({
      kind: 'dead_letter',
      reason: 'delivery stopped after its last attempt (3 of 3) with no job left to finish it',
    });
    expect(verdictOn(email({ status: 'retrying', attempts: 4 }), 'finished', NOW).kind).toBe('dead_letter');
  });

  it('never dead-letters a queued or scheduled email: it has not been tried since it was (re)queued', () => {
    expect(verdictOn(email({ status: 'queued', attempts: 3 }), 'missing', NOW)).toEqual({ kind: 'requeue' });
  });
});
