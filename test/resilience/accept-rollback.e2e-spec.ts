import type Redis from 'ioredis';
import { createTransport } from 'nodemailer';
import { AppProcess } from '../support/app-process';
import { breakJobAdds, keysMatching } from '../support/bull-keys';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { PrivateRedis } from '../support/private-redis';

const QUOTA = 100;
const email = (subject: string, extra: Record<string, unknown> = {}) => ({
  to: ['ana@example.com'],
  subject,
  text: 'Hello',
  ...extra,
});

/**
 * One write path for every way in (a single email, a batch, a group, the SMTP ingress): when the record is
 * written but its job cannot be queued (here Redis refuses Bull's job counter, a real error of Redis's own),
 * the caller is told so and nothing is left behind: no record, message, index entry, scheduled entry or
 * unfinished entry, and the daily quota is given back.
 */
describe('accepting with a failed enqueue (api,smtp process, Bull refused by Redis)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let front: AppProcess;
  let prefix: string;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    inspect = redis.client();
    const env: Record<string, string> = {
      ...baseEnv(redis),
      SERVICE_TOKEN_BILLING_DAILY_QUOTA: String(QUOTA),
    };
    prefix = env.QUEUE_PREFIX!;
    front = await AppProcess.start({ role: 'api,smtp', env });
    billing = client(front.baseUrl, TOKENS.billing);
  });

  /** A legacy application's transport: plain SMTP (development has no certificate) with AUTH. */
  const smtp = () =>
    createTransport({
      host: '127.0.0.1',
      port: front.smtpPort,
      secure: false,
      ignoreTLS: true,
      auth: { user: 'billing', pass: TOKENS.billing },
    });

  afterAll(async () => {
    inspect?.disconnect();
    await front?.stop();
    await redis?.stop();
  });

  const quotaUsed = async () =>
    Number(
      (await inspect.get(`${prefix}:daily-quota:billing:${new Date().toISOString().slice(0, 10)}`)) ?? 0,
    );

  /** What an email leaves in Redis besides Bull's keys: its record and message, and its index entries. */
  const leftovers = async () => ({
    records: (await keysMatching(inspect, `${prefix}:email:*`)).sort(),
    all: await inspect.zcard(`${prefix}:emails`),
    ofService: await inspect.zcard(`${prefix}:emails:billing`),
    scheduled: await inspect.zcard(`${prefix}:scheduled`),
    unfinished: await inspect.zcard(`${prefix}:unfinished`),
    quotaUsed: await quotaUsed(),
  });
  const expectRefused = (response: { status: number; headers: Headers; body: Record<string, unknown> }) => {
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body.status).toBe(response.status);
  };

  /** Runs `refuse` with every job add failing, and checks that it left Redis as it found it. */
  async function refusedLeavingNothing(refuse: () => Promise<void>): Promise<void> {
    const before = await leftovers();
    const mend = await breakJobAdds(inspect, prefix);
    try {
      await refuse();
    } finally {
      await mend();
    }
    expect(await leftovers()).toEqual(before);
  }

  const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

  it('refuses one email with a 5xx problem and keeps no record, index entry or quota of it', async () => {
    await refusedLeavingNothing(async () => {
      expectRefused(await billing.post('/api/v1/emails', email('single')));
      expectRefused(await billing.post('/api/v1/emails', email('scheduled', { sendAt: inAnHour() })));
    });
  });

  it('refuses a batch whole, whatever its priorities and schedules', async () => {
    await refusedLeavingNothing(async () => {
      expectRefused(
        await billing.post('/api/v1/emails/batch', {
          emails: [
            email('batch 1', { priority: 'high' }),
            email('batch 2', { sendAt: inAnHour() }),
            email('batch 3'),
            email('batch 4'),
          ],
        }),
      );
    });
  });

  it('refuses a group whole', async () => {
    await refusedLeavingNothing(async () => {
      expectRefused(
        await billing.post('/api/v1/emails/group', {
          recipients: [1, 2, 3].map((n) => ({ email: `user${n}@example.com`, data: { name: `User ${n}` } })),
          template: 'welcome',
          data: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
        }),
      );
    });
  });

  it('answers an SMTP message 451 (try again later) and keeps nothing of it', async () => {
    await refusedLeavingNothing(async () => {
      const refused = await smtp()
        .sendMail({ from: 'billing@freeface.test', to: 'ana@example.com', subject: 'over SMTP', text: 'x' })
        .then(
          () => undefined,
          (error: { responseCode?: number }) => error,
        );
      expect(refused?.responseCode).toBe(451);
    });
  });

  it('refuses with 503 and Retry-After while Redis is out of memory (noeviction), and keeps nothing', async () => {
    const before = await leftovers();
    await inspect.config('SET', 'maxmemory-policy', 'noeviction');
    await inspect.config('SET', 'maxmemory', '1');
    try {
      for (const path of ['/api/v1/emails', '/api/v1/emails/batch']) {
        const body = path.endsWith('batch') ? { emails: [email('full 1'), email('full 2')] } : email('full');
        const refused = await billing.post(path, body);
        expect([path, refused.status, refused.body.type]).toEqual([
          path,
          503,
          'urn:freeface:problem:service-unavailable',
        ]);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      await inspect.config('SET', 'maxmemory', '0');
    }
    expect(await leftovers()).toEqual(before);
  });

  it('accepts the same requests once Redis takes the jobs again, each with its record, entries and quota', async () => {
    const before = await leftovers();
    const accepted = await billing.post('/api/v1/emails', email('single', { sendAt: inAnHour() }));
    expect(accepted.status).toBe(202);
    const batch = await billing.post('/api/v1/emails/batch', {
      emails: [email('batch 1'), email('batch 2')],
    });
    expect(batch.status).toBe(202);
    const info = await smtp().sendMail({
      from: 'billing@freeface.test',
      to: 'ana@example.com',
      subject: 'over SMTP',
      text: 'x',
    });
    expect(info.response).toMatch(/^250 2\.0\.0 queued as /);
    const after = await leftovers();
    expect(after.records).toEqual(
      expect.arrayContaining([`${prefix}:email:${accepted.body.id as string}`]) as unknown,
    );
    expect({ ...after, records: after.records.length }).toEqual({
      records: before.records.length + 8,
      all: before.all + 4,
      ofService: before.ofService + 4,
      scheduled: before.scheduled + 1,
      unfinished: before.unfinished + 4,
      quotaUsed: before.quotaUsed + 4,
    });
  });
});
