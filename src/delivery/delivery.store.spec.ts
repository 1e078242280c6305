import Redis from 'ioredis';
import { PrivateRedis } from '../../test/support/private-redis';
import type { AppConfig } from '../config/app-config';
import type { EmailRecord } from '../emails/email-record';
import { EmailStore } from '../emails/email.store';
import { GroupDataStore } from '../emails/group-data.store';
import type { OutboundMessage } from '../providers/outbound-email';
import type { RedisConnections } from '../redis/redis-connections';
import { RedisKeys } from '../redis/redis-keys';
import { DeliveryStore, type DeliveryClaim } from './delivery.store';
import { parseRateLimit } from '../common/rate';

const DAY_MS = 86_400_000;
const PINNED_WAIT_MS = 60_000;

/** Workers with the chain smtp → sendgrid, mailgun usable when pinned, and `rateLimits` per provider. */
function configWith(rateLimits: AppConfig['providers']['rateLimits'] = {}): AppConfig {
  return {
    email: { retentionDays: 7 },
    delivery: { pinnedProviderWaitMs: PINNED_WAIT_MS },
    providers: {
      primary: 'smtp',
      fallbacks: ['sendgrid'],
      enabled: ['smtp', 'sendgrid', 'mailgun'],
      rateLimits,
      circuit: { failureThreshold: 3, cooldownMs: 30_000 },
    },
  } as unknown as AppConfig;
}

const message: OutboundMessage = {
  from: { email: 'noreply@x.example' },
  to: [{ email: 'ana@example.com' }],
  cc: [],
  bcc: [],
  subject: 'Hello',
  text: 'Hi',
  headers: {},
  attachments: [],
  tags: [],
  metadata: {},
};

/** Claims of `kind`, narrowed for the assertions. */
function claimed(claim: DeliveryClaim): Extract<DeliveryClaim, { kind: 'claimed' }> {
  if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(claim)}`);
  return claim;
}

// One partition claims in one script; several, in three (the email's slot, the providers', the email's again).
describe.each([1, 3])('DeliveryStore, %i partition(s) (real Redis)', (partitions) => {
  const keys = new RedisKeys('{delivery-test}', partitions);
  const partitionOf = (id: string) => keys.partitionOf(id);
  let server: PrivateRedis;
  let redis: Redis;
  let connections: RedisConnections;
  let emails: EmailStore;
  let store: DeliveryStore;
  let sequence = 0;

  /** Accepts an email as the api does; returns its id. */
  const accepted = async (fields: Partial<EmailRecord> = {}): Promise<string> => {
    const now = Date.now();
    const id = `email-${++sequence}`;
    const record: EmailRecord = {
      id,
      status: fields.sendAt ? 'scheduled' : 'queued',
      priority: 'high',
      service: 'billing',
      requestId: `req-${id}`,
      createdAt: now,
      attempts: 0,
      maxAttempts: 3,
      to: ['ana@example.com'],
      subject: 'Hello',
      tags: [],
      metadata: {},
      ...fields,
    };
    await emails.createMany([{ record, message }]);
    return id;
  };

  beforeAll(async () => {
    server = await PrivateRedis.start();
    redis = new Redis(server.url);
    connections = { client: redis } as unknown as RedisConnections;
    const config = configWith();
    emails = new EmailStore(connections, keys, new GroupDataStore(connections, keys, config), config);
    store = new DeliveryStore(connections, keys, config);
  });

  beforeEach(() => redis.flushall());

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  // Several partitions claim in steps: claim-step-look.lua, claim-step-provider.lua, claim-step-take.lua, and
  // give-back-token.lua when the email was taken meanwhile.
  describe(partitions === 1 ? 'claim-for-delivery.lua' : 'the claim in steps (claim-step-*.lua)', () => {
    it('takes a queued email: sending through the first provider of the chain, the attempt counted, the message given', async () => {
      const id = await accepted();
      const before = Date.now();
      expect(await store.claim(id)).toEqual({
        kind: 'claimed',
        previousStatus: 'queued',
        attempt: 1,
        maxAttempts: 3,
        service: 'billing',
        requestId: `req-${id}`,
        provider: 'smtp',
        priority: 'high',
        message,
      });
      const record = await redis.hgetall(keys.email(id));
      expect(record).toMatchObject({ status: 'sending', provider: 'smtp', attempts: '1' });
      expect(Number(record['attemptAt'])).toBeGreaterThanOrEqual(before - 1000);
    });

    it('takes a scheduled email off the scheduled set, and an interrupted send again', async () => {
      const id = await accepted({ sendAt: Date.now() + 60_000 });
      expect(claimed(await store.claim(id)).previousStatus).toBe('scheduled');
      expect(await redis.zcard(keys.scheduled(partitionOf(id)))).toBe(0);
      // Its worker died mid-send: the next claim takes it again, as a second attempt.
      expect(claimed(await store.claim(id))).toMatchObject({ previousStatus: 'sending', attempt: 2 });
    });

    it('leaves an email whose status needs no delivery, and says when there is none', async () => {
      const id = await accepted();
      await redis.hset(keys.email(id), 'status', 'cancelled');
      expect(await store.claim(id)).toEqual({ kind: 'final', status: 'cancelled' });
      expect(await store.claim('gone')).toEqual({ kind: 'missing' });
      expect(await redis.hget(keys.email(id), 'attempts')).toBe('0');
    });

    it('sends a retry through the provider after the one whose failure made it one, round the chain', async () => {
      const id = await accepted();
      await redis.hset(keys.email(id), { status: 'retrying', provider: 'smtp' });
      expect(claimed(await store.claim(id)).provider).toBe('sendgrid');
      await redis.hset(keys.email(id), { status: 'retrying', provider: 'sendgrid' });
      expect(claimed(await store.claim(id)).provider).toBe('smtp');
    });

    it('sends an email pinned to a provider outside the chain through it', async () => {
      const id = await accepted({ pinnedProvider: 'mailgun' });
      expect(claimed(await store.claim(id)).provider).toBe('mailgun');
    });

    it('skips a provider whose circuit is open, and waits until the first reopens when all are', async () => {
      const id = await accepted();
      const openUntil = Date.now() + 60_000;
      await redis.hset(keys.circuit('smtp'), 'openUntil', openUntil);
      expect(claimed(await store.claim(id)).provider).toBe('sendgrid');

      const next = await accepted();
      await redis.hset(keys.circuit('sendgrid'), 'openUntil', openUntil + 5000);
      expect(await store.claim(next)).toEqual({ kind: 'wait', untilMs: openUntil, reason: 'circuit' });
      expect(await redis.hget(keys.email(next), 'status')).toBe('queued');
    });

    it('lets one trial send through a circuit whose cool-down is over; the others wait for its verdict', async () => {
      await redis.hset(keys.circuit('smtp'), 'openUntil', Date.now() - 1);
      await redis.hset(keys.circuit('sendgrid'), 'openUntil', Date.now() + 60_000);
      const trial = await accepted();
      const before = Date.now();
      expect(claimed(await store.claim(trial)).provider).toBe('smtp');
      expect(Number(await redis.hget(keys.circuit('smtp'), 'trialUntil'))).toBeGreaterThan(before + 20_000);
      const other = await store.claim(await accepted());
      expect(other).toMatchObject({ kind: 'wait', reason: 'circuit' });
      expect((other as { untilMs: number }).untilMs).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('takes a token per send; without one, each email waits for a slot of its own in line', async () => {
      const hourly = new DeliveryStore(connections, keys, configWith({ smtp: parseRateLimit('1/h')! }));
      const [first, second, third] = [await accepted(), await accepted(), await accepted()];
      const before = Date.now();
      expect(claimed(await hourly.claim(first)).provider).toBe('smtp');

      const wait = await hourly.claim(second);
      expect(wait).toMatchObject({ kind: 'wait', reason: 'rate', provider: 'smtp' });
      const secondSlot = (wait as { untilMs: number }).untilMs;
      expect(secondSlot).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
      expect(secondSlot).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
      expect(await redis.hmget(keys.email(second), 'reservedProvider', 'reservedUntil')).toEqual([
        'smtp',
        String(secondSlot),
      ]);
      // The next in line gets the slot after it, not the same one.
      const thirdSlot = ((await hourly.claim(third)) as { untilMs: number }).untilMs;
      // A token's worth of time later (rounded up to the millisecond).
      const spacing = thirdSlot - secondSlot;
      expect(spacing).toBeGreaterThanOrEqual(3_600_000);
      expect(spacing).toBeLessThanOrEqual(3_600_001);
      // Coming back early, an email keeps its place: it looks again when the next token is due.
      expect(((await hourly.claim(second)) as { untilMs: number }).untilMs).toBeLessThanOrEqual(
        secondSlot + 1,
      );
      expect(await redis.hget(keys.rateBucket('smtp'), 'nextSlot')).toBe(String(thirdSlot + spacing));
      expect(await redis.pttl(keys.rateBucket('smtp'))).toBeGreaterThan(2 * 3_600_000);
      // A provider without a limit keeps no bucket.
      expect(await redis.exists(keys.rateBucket('sendgrid'))).toBe(0);
    });

    if (partitions > 1)
      it('gives the token and the trial back when the email was taken between the steps of the claim', async () => {
        const hourly = new DeliveryStore(connections, keys, configWith({ smtp: parseRateLimit('1/h')! }));
        await redis.hset(keys.circuit('smtp'), 'openUntil', Date.now() - 1);
        const [cancelled, next] = [await accepted(), await accepted()];
        // A cancellation lands right after the provider's step took smtp's one token and its trial.
        const steps = hourly as unknown as { providerStepScript: (...args: unknown[]) => Promise<unknown> };
        const providerStep = steps.providerStepScript;
        steps.providerStepScript = async (...args) => {
          const taken = await providerStep(...args);
          await redis.hset(keys.email(cancelled), 'status', 'cancelled');
          return taken;
        };
        expect(await hourly.claim(cancelled)).toEqual({ kind: 'final', status: 'cancelled' });
        steps.providerStepScript = providerStep;
        expect(await redis.hget(keys.circuit('smtp'), 'trialUntil')).toBeNull();
        expect(Number(await redis.hget(keys.rateBucket('smtp'), 'tokens'))).toBeCloseTo(1, 3);
        // The token and the trial are the next email's, at once.
        expect(claimed(await hourly.claim(next)).provider).toBe('smtp');
        expect(await redis.hget(keys.circuit('smtp'), 'trialUntil')).not.toBeNull();
        expect(await redis.hget(keys.email(cancelled), 'attempts')).toBe('0');
      });

    it('makes an email pinned to a provider no worker has wait, then dead once the wait is over', async () => {
      const id = await accepted({ pinnedProvider: 'ses' });
      const first = await store.claim(id);
      expect(first).toMatchObject({ kind: 'wait', reason: 'provider', provider: 'ses', first: true });
      // A second later (the wait counts from the first look, not from this one).
      const since = Number(await redis.hget(keys.email(id), 'unroutableSince'));
      await redis.hset(keys.email(id), 'unroutableSince', since - 1000);
      expect(await store.claim(id)).toMatchObject({ kind: 'wait', reason: 'provider', first: false });
      expect(await redis.hget(keys.email(id), 'unroutableSince')).toBe(String(since - 1000));
      expect(await redis.hget(keys.email(id), 'attempts')).toBe('0');

      await redis.hset(keys.email(id), 'unroutableSince', Date.now() - PINNED_WAIT_MS - 1);
      const reason = 'provider ses is not configured on the workers that took this email';
      expect(await store.claim(id)).toEqual({
        kind: 'unroutable',
        provider: 'ses',
        reason,
        attempts: 0,
        service: 'billing',
        requestId: `req-${id}`,
        priority: 'high',
      });
      expect(await redis.hmget(keys.email(id), 'status', 'lastError', 'unroutableSince')).toEqual([
        'dead',
        reason,
        null,
      ]);
      expect(await redis.zscore(keys.deadLetters(partitionOf(id)), id)).not.toBeNull();
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).toBeNull();
    });
  });

  describe('mark-sent.lua', () => {
    it('records the send, drops the message, closes the circuit and finishes the email', async () => {
      const id = await accepted();
      await store.claim(id);
      await redis.hset(keys.circuit('smtp'), { failures: 2, openUntil: 1, trialUntil: 2, opened: 4 });
      await store.markSent(id, { provider: 'smtp', providerMessageId: 'pm-1', sentAt: 1234 });
      expect(await redis.hgetall(keys.email(id))).toMatchObject({
        status: 'sent',
        provider: 'smtp',
        providerMessageId: 'pm-1',
        sentAt: '1234',
      });
      expect(await redis.exists(keys.emailMessage(id))).toBe(0);
      expect(await redis.hgetall(keys.circuit('smtp'))).toEqual({ opened: '4' });
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).toBeNull();
      // Only SES's events may name nothing but its own message id.
      expect(await redis.exists(keys.providerMessage('smtp', 'pm-1', partitionOf(id)))).toBe(0);
      expect(await redis.pttl(keys.email(id))).toBeGreaterThan(7 * DAY_MS - 60_000);
    });

    it("keeps the way from SES's message id back to the email for as long as the record lives", async () => {
      const id = await accepted({ pinnedProvider: 'ses' });
      await store.markSent(id, { provider: 'ses', providerMessageId: 'ses-1', sentAt: 1 });
      expect(await redis.get(keys.providerMessage('ses', 'ses-1', partitionOf(id)))).toBe(id);
      expect(await redis.pttl(keys.providerMessage('ses', 'ses-1', partitionOf(id)))).toBeGreaterThan(
        7 * DAY_MS - 60_000,
      );
    });
  });

  describe('mark-failed.lua', () => {
    it('records a retry, keeping the message and leaving the circuit to the failure count', async () => {
      const id = await accepted();
      await store.claim(id);
      await redis.hset(keys.circuit('smtp'), 'failures', 2);
      await redis.pexpire(keys.emailMessage(id), 1000);
      await store.markFailed(id, {
        status: 'retrying',
        provider: 'smtp',
        lastError: 'timeout',
        at: 99,
        permanent: false,
      });
      expect(await redis.hmget(keys.email(id), 'status', 'provider', 'lastError', 'deadAt')).toEqual([
        'retrying',
        'smtp',
        'timeout',
        null,
      ]);
      expect(await redis.pttl(keys.emailMessage(id))).toBeGreaterThan(7 * DAY_MS - 60_000);
      expect(await redis.hget(keys.circuit('smtp'), 'failures')).toBe('2');
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).not.toBeNull();
      expect(await redis.zcard(keys.deadLetters(partitionOf(id)))).toBe(0);
    });

    it('makes a last or permanent failure dead, in the dead letters, with the circuit closed', async () => {
      const id = await accepted();
      await store.claim(id);
      await redis.hset(keys.circuit('smtp'), { failures: 2, openUntil: 5 });
      await store.markFailed(id, {
        status: 'dead',
        provider: 'smtp',
        lastError: '550 no such user',
        at: 4242,
        permanent: true,
      });
      expect(await redis.hmget(keys.email(id), 'status', 'lastError', 'deadAt')).toEqual([
        'dead',
        '550 no such user',
        '4242',
      ]);
      expect(await redis.zscore(keys.deadLetters(partitionOf(id)), id)).toBe('4242');
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).toBeNull();
      expect(await redis.exists(keys.circuit('smtp'))).toBe(0);
      // Kept, so that the dead letter can be retried.
      expect(await redis.exists(keys.emailMessage(id))).toBe(1);
    });
  });

  describe('mark-suppressed.lua', () => {
    const suppressed = [{ email: 'ana@example.com', reason: 'hard_bounce' as const }];

    it('names the suppressed recipients of an email that still goes to others', async () => {
      const id = await accepted();
      await store.markSuppressed(id, suppressed, false);
      expect(await redis.hmget(keys.email(id), 'status', 'suppressed')).toEqual([
        'queued',
        JSON.stringify(suppressed),
      ]);
      expect(await redis.exists(keys.emailMessage(id))).toBe(1);
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).not.toBeNull();
    });

    it('ends an email with no recipient left as suppressed, its message dropped', async () => {
      const id = await accepted();
      await store.markSuppressed(id, suppressed, true);
      expect((await emails.find(id))?.status).toBe('suppressed');
      expect((await emails.find(id))?.suppressed).toEqual(suppressed);
      expect(await redis.exists(keys.emailMessage(id))).toBe(0);
      expect(await redis.zscore(keys.unfinishedEmails(partitionOf(id)), id)).toBeNull();
    });
  });
});
