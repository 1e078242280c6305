import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink, emailIdOf } from './support/smtp-sink';

interface Suppression {
  email: string;
  reason: string;
  source: string;
  createdAt: string;
  expiresAt: string | null;
}

/** The suppression list through the API, and what a worker does with suppressed recipients. */
describe('suppression list (api + worker processes, a real SMTP sink)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let ops: ReturnType<typeof client>;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = { ...baseEnv(redis, sink), SUPPRESSION_TTL_DAYS: '30' };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    ops = client(api.baseUrl, TOKENS.ops);
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body;
  const settled = (id: string) =>
    waitUntil(
      async () => ['sent', 'suppressed', 'dead'].includes(String((await statusOf(id)).status)),
      15_000,
      `email ${id} to settle`,
    );

  it('adds, finds, lists and removes addresses (admin to change, read to look)', async () => {
    const added = await ops.post<Suppression>('/api/v1/suppressions', {
      email: 'Gone@Example.com',
      reason: 'manual',
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      email: 'gone@example.com',
      reason: 'manual',
      source: 'api:ops',
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const days = (Date.parse(added.body.expiresAt!) - Date.parse(added.body.createdAt)) / 86_400_000;
    expect(days).toBe(30);

    const found = await billing.get<{ items: Suppression[] }>('/api/v1/suppressions?email=GONE@example.com');
    expect(found.body.items.map((s) => s.email)).toEqual(['gone@example.com']);

    for (const email of ['a@example.com', 'b@example.com', 'c@example.com'])
      expect((await ops.post('/api/v1/suppressions', { email, reason: 'complaint' })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { body: { items: Suppression[]; nextCursor: string | null } } = await billing.get(
        `/api/v1/suppressions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.body.items.map((s) => s.email));
      cursor = page.body.nextCursor;
    }
    expect(seen.sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com', 'gone@example.com']);

    expect((await ops.delete('/api/v1/suppressions/b@example.com')).status).toBe(204);
    expect((await ops.delete('/api/v1/suppressions/b@example.com')).status).toBe(404);
    expect(
      (await billing.get<{ items: unknown[] }>('/api/v1/suppressions?email=b@example.com')).body.items,
    ).toEqual([]);
  });

  it('refuses bad input and callers without the scope', async () => {
    const bad = await ops.post('/api/v1/suppressions', { email: 'not-an-address', reason: 'bored' });
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { field: string }[]).map((e) => e.field).sort()).toEqual(['email', 'reason']);
    expect(
      (await billing.post('/api/v1/suppressions', { email: 'x@example.com', reason: 'manual' })).status,
    ).toBe(403);
    expect((await billing.delete('/api/v1/suppressions/a@example.com')).status).toBe(403);
    expect((await billing.get('/api/v1/suppressions?cursor=nonsense')).status).toBe(400);
  });

  it('leaves suppressed recipients out of a delivery, and names them in the status', async () => {
    await ops.post('/api/v1/suppressions', { email: 'bounced@example.com', reason: 'hard_bounce' });
    const accepted = await billing.post('/api/v1/emails', {
      to: ['ana@example.com', 'Bounced@Example.com'],
      cc: ['a@example.com'],
      subject: 'Partly suppressed',
      text: 'Hello',
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.id as string;
    await settled(id);
    const status = await statusOf(id);
    expect(status.status).toBe('sent');
    expect(status.suppressed).toEqual([
      { email: 'Bounced@Example.com', reason: 'hard_bounce' },
      { email: 'a@example.com', reason: 'complaint' },
    ]);
    const delivered = sink.messages.filter((m) => emailIdOf(m) === id);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.envelope.to).toEqual(['ana@example.com']);
    expect(delivered[0]!.raw.toLowerCase()).not.toContain('bounced@example.com');
  });

  it('does not send an email whose every recipient is suppressed: it ends suppressed, and says so', async () => {
    const accepted = await billing.post('/api/v1/emails', {
      to: ['gone@example.com'],
      subject: 'Nobody left',
      text: 'Hello',
    });
    const id = accepted.body.id as string;
    await settled(id);
    const status = await statusOf(id);
    expect(status).toMatchObject({
      status: 'suppressed',
      suppressed: [{ email: 'gone@example.com', reason: 'manual' }],
    });
    expect(sink.messages.filter((m) => emailIdOf(m) === id)).toEqual([]);
    const trailOf = () =>
      billing.get<{ items: { event: string; detail: Record<string, unknown> }[] }>(`/api/v1/audit/${id}`);
    // The audit trail is written in the background, within about 20 ms.
    await waitUntil(
      async () => (await trailOf()).body.items?.some((e) => e.event === 'suppressed') ?? false,
      5_000,
      'the suppressed audit event',
    );
    const trail = await trailOf();
    const suppressed = trail.body.items.find((e) => e.event === 'suppressed');
    expect(suppressed?.detail).toEqual({ recipients: 1, remaining: 0, reasons: ['manual'] });
    expect(JSON.stringify(trail.body)).not.toContain('gone@example.com');
    expect(trail.body.items.map((e) => e.event)).not.toContain('sent');

    // Off the list, the same address gets mail again.
    expect((await ops.delete('/api/v1/suppressions/gone@example.com')).status).toBe(204);
    const again = (
      await billing.post('/api/v1/emails', { to: ['gone@example.com'], subject: 'Back', text: 'Hi' })
    ).body.id as string;
    await settled(again);
    expect((await statusOf(again)).status).toBe('sent');
    expect((await statusOf(again)).suppressed).toEqual([]);
  });
});
