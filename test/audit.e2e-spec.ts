import type Redis from 'ioredis';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

interface AuditEntry {
  at: string;
  event: string;
  service: string;
  emailId: string;
  requestId: string | null;
  detail: Record<string, unknown>;
}
interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

const DAY_MS = 86_400_000;
const email = (subject: string) => ({ to: ['ana@example.com'], subject, text: 'The secret body 7d1c' });

/** The audit trail as all processes write it: the api accepts, the worker attempts and sends. */
describe('audit trail (api + worker processes, one trail in Redis)', () => {
  let redis: PrivateRedis;
  let redisClient: Redis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let signup: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    redisClient = redis.client();
    env = { ...baseEnv(redis, sink), AUDIT_RETENTION_DAYS: '1' };
    // Placed before any event of this service: the first write must trim it, as it is older than a day.
    await redisClient.xadd(
      `${env.QUEUE_PREFIX}:audit:service:sign-up`,
      `${Date.now() - 2 * DAY_MS}-0`,
      'entry',
      '{}',
    );
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
    ops = client(api.baseUrl, TOKENS.ops);
  });

  afterEach(() => {
    sink.reply = () => undefined;
  });

  afterAll(async () => {
    redisClient?.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  /** The trail of one email once it holds `last` (writes are batched, so they land a few ms later). */
  async function trailUntil(id: string, last: string): Promise<AuditEntry[]> {
    let items: AuditEntry[] = [];
    await waitUntil(
      async () => {
        const page = await billing.get<AuditPage>(`/api/v1/audit/${id}`);
        items = page.status === 200 ? page.body.items : [];
        return items.at(-1)?.event === last;
      },
      15_000,
      `the audit trail of ${id} to end with ${last}`,
    );
    return items;
  }

  it('shows accepted → attempt → sent, oldest first, with the request id and no message body', async () => {
    const accepted = await billing.post('/api/v1/emails', email('audited'));
    expect(accepted.status).toBe(202);
    const id = accepted.body.id as string;
    const items = await trailUntil(id, 'sent');

    expect(items.map((e) => e.event)).toEqual(['accepted', 'attempt', 'sent']);
    expect(items[0]).toEqual({
      at: expect.any(String),
      event: 'accepted',
      service: 'billing',
      emailId: id,
      requestId: accepted.headers.get('x-request-id'),
      detail: expect.objectContaining({ priority: 'medium' }),
    });
    expect(items[1]!.detail).toMatchObject({ attempt: 1, provider: 'smtp' });
    expect(items[2]!.detail).toMatchObject({ attempt: 1, provider: 'smtp', latencyMs: expect.any(Number) });
    const times = items.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(JSON.stringify(items)).not.toContain('secret body');
    expect(JSON.stringify(items)).not.toContain(TOKENS.billing);
  });

  it('shows a retried email as attempt → failed → retry_scheduled → attempt → sent', async () => {
    let replies = 0;
    sink.reply = () => (++replies === 1 ? { code: 451, message: '4.3.0 Try again later' } : undefined);
    const id = (await billing.post('/api/v1/emails', email('retried'))).body.id as string;
    const items = await trailUntil(id, 'sent');

    expect(items.map((e) => e.event)).toEqual([
      'accepted',
      'attempt',
      'failed',
      'retry_scheduled',
      'attempt',
      'sent',
    ]);
    expect(items[3]!.detail).toMatchObject({ attempt: 1, nextAttempt: 2 });
    expect(String(items[3]!.detail.reason)).toContain('451');
    expect(items[5]!.detail).toMatchObject({ attempt: 2 });
  });

  it('records dead letters, their retry, cancellation and idempotent replays', async () => {
    sink.reply = () => ({ code: 550, message: '5.1.1 Recipient address rejected' });
    const dead = (await billing.post('/api/v1/emails', email('rejected'))).body.id as string;
    await trailUntil(dead, 'dead_lettered');
    sink.reply = () => undefined;
    expect((await ops.post(`/api/v1/dead-letters/${dead}/retry`)).status).toBe(202);
    const revived = await trailUntil(dead, 'sent');
    expect(revived.map((e) => e.event)).toEqual([
      'accepted',
      'attempt',
      'failed',
      'dead_lettered',
      'retried_from_dead_letter',
      'attempt',
      'sent',
    ]);
    expect(revived[4]!.service).toBe('billing');

    const sendAt = new Date(Date.now() + 60_000).toISOString();
    const later = (await billing.post('/api/v1/emails', { ...email('later'), sendAt })).body.id as string;
    expect((await billing.delete(`/api/v1/emails/${later}`)).status).toBe(200);
    expect((await trailUntil(later, 'cancelled')).map((e) => e.event)).toEqual([
      'accepted',
      'scheduled',
      'cancelled',
    ]);

    const key = { 'idempotency-key': `audit-${Date.now()}` };
    const first = await billing.post('/api/v1/emails', email('once'), key);
    const again = await billing.post('/api/v1/emails', email('once'), key);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const once = first.body.id as string;
    await waitUntil(
      async () =>
        (await billing.get<AuditPage>(`/api/v1/audit/${once}`)).body.items?.some(
          (e) => e.event === 'replayed' && e.requestId === again.headers.get('x-request-id'),
        ) ?? false,
      10_000,
      'the replayed event',
    );
  });

  it("answers 404 for another service's email, as for an unknown one; an admin sees it", async () => {
    const id = (await billing.post('/api/v1/emails', email('private'))).body.id as string;
    await trailUntil(id, 'sent');

    const other = await signup.get(`/api/v1/audit/${id}`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    const unknown = await signup.get('/api/v1/audit/0190f3c2-0000-7000-8000-000000000000');
    expect({ ...unknown.body, instance: undefined, requestId: undefined }).toEqual({
      ...other.body,
      detail: expect.any(String),
      instance: undefined,
      requestId: undefined,
    });
    expect((await ops.get<AuditPage>(`/api/v1/audit/${id}`)).body.items.map((e) => e.event)).toEqual([
      'accepted',
      'attempt',
      'sent',
    ]);
  });

  it("queries one's own trail by event and time, newest first, in cursor pages", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await signup.post('/api/v1/emails', email(`paged ${i}`))).body.id as string);
    }
    await waitUntil(
      async () => (await signup.get<AuditPage>('/api/v1/audit?event=sent&limit=200')).body.items.length === 3,
      15_000,
      "sign-up's three sent events",
    );

    const seen: AuditEntry[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const page: { status: number; body: AuditPage } = await signup.get<AuditPage>(
        `/api/v1/audit?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
      pages++;
    }
    expect(seen).toHaveLength(9); // 3 × accepted, attempt, sent
    expect(pages).toBe(5);
    expect(new Set(seen.map((e) => e.service))).toEqual(new Set(['sign-up']));
    // Newest first in the order recorded: processes write in batches within 20 ms, so events of different
    // processes may be up to that much out of time order, never more.
    const times = seen.map((e) => Date.parse(e.at));
    times.slice(1).forEach((time, i) => expect(time).toBeLessThanOrEqual(times[i]! + 100));
    expect(new Set(seen.map((e) => `${e.emailId}/${e.event}`)).size).toBe(9);

    const future = new Date(Date.now() + DAY_MS).toISOString();
    expect((await signup.get<AuditPage>(`/api/v1/audit?from=${future}`)).body.items).toEqual([]);
    const upToFirst = await signup.get<AuditPage>(`/api/v1/audit?to=${seen.at(-1)!.at}&event=accepted`);
    expect(upToFirst.body.items.map((e) => e.emailId)).toEqual([seen.at(-1)!.emailId]);

    expect((await signup.get('/api/v1/audit?service=billing')).status).toBe(403);
    const all = await ops.get<AuditPage>('/api/v1/audit?event=accepted&limit=200');
    expect(new Set(all.body.items.map((e) => e.service))).toEqual(new Set(['billing', 'sign-up']));
    const billingOnly = await ops.get<AuditPage>('/api/v1/audit?service=billing&limit=200');
    expect(billingOnly.body.items.length).toBeGreaterThan(0);
    expect(billingOnly.body.items.every((e) => e.service === 'billing')).toBe(true);

    const bad = await signup.get('/api/v1/audit?event=exploded&limit=0&cursor=x');
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'cursor',
      'event',
      'limit',
    ]);
  });

  it('lets Redis enforce the retention: entries expire and streams are trimmed as they grow', async () => {
    const id = (await billing.post('/api/v1/emails', email('expiring'))).body.id as string;
    await trailUntil(id, 'sent');
    const ttl = await redisClient.pttl(`${env.QUEUE_PREFIX}:audit:email:${id}`);
    expect(ttl).toBeGreaterThan(DAY_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DAY_MS);

    const stream = await redisClient.xrange(`${env.QUEUE_PREFIX}:audit:service:sign-up`, '-', '+');
    expect(stream.length).toBeGreaterThan(0);
    expect(stream.every(([entryId]) => Number(entryId.split('-')[0]) > Date.now() - DAY_MS)).toBe(true);
  });

  it('never fails or holds up a send when the trail cannot be written: it logs and counts the failure', async () => {
    // A key of the wrong type makes every audit write of this service fail inside Redis.
    const stream = `${env.QUEUE_PREFIX}:audit:service:billing`;
    await redisClient.del(stream);
    await redisClient.set(stream, 'not a stream');
    try {
      const id = (await billing.post('/api/v1/emails', email('unaudited'))).body.id as string;
      await waitUntil(
        async () => (await billing.get(`/api/v1/emails/${id}`)).body.status === 'sent',
        10_000,
        'the email to be sent without its audit trail',
      );
      await waitUntil(
        () => [api, worker].every((p) => p.logs().some((line) => line.msg === 'audit write failed')),
        5000,
        'both processes to log the failed audit write',
      );
      const failure = worker.logs().find((line) => line.msg === 'audit write failed')!;
      expect(failure).toMatchObject({ level: 'warn', context: 'audit', failedWrites: expect.any(Number) });
      expect(String(failure.reason)).toContain('WRONGTYPE');
    } finally {
      await redisClient.del(stream);
    }
  });
});
