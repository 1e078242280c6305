import { AppProcess } from './support/app-process';
import { baseEnv, client, queuesIdle, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const email = (subject: string, extra: Record<string, unknown> = {}) => ({
  to: ['ana@example.com'],
  subject,
  text: 'Hello',
  ...extra,
});

/** Batches, group notifications, named groups, idempotency keys and listing, against api + worker processes. */
describe('sending at scale', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = { ...baseEnv(redis, sink), WORKER_CONCURRENCY: '8', SMTP_POOL_SIZE: '8' };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    ops = client(api.baseUrl, TOKENS.ops);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  describe('batches', () => {
    it('accepts a batch whole and delivers each email', async () => {
      const response = await billing.post('/api/v1/emails/batch', {
        emails: [
          email('batch 1'),
          email('batch 2', { priority: 'high' }),
          email('batch 3', { to: ['bo@example.com'] }),
        ],
      });
      expect(response.status).toBe(202);
      const ids = response.body.ids as string[];
      expect(ids).toHaveLength(3);
      await waitUntil(() => ids.every((id) => sink.find(id)), 10_000, 'the batch at the sink');
      expect(sink.find(ids[2]!)!.envelope.to).toEqual(['bo@example.com']);
    });

    it('refuses a batch with one bad email whole, naming its index', async () => {
      const before = (await billing.get('/api/v1/emails?limit=100')).body.items as unknown[];
      const response = await billing.post('/api/v1/emails/batch', {
        emails: [email('fine'), email('bad', { to: ['not-an-email'] }), email('fine too')],
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        { field: 'emails[1].to[0]', message: 'must be an email address' },
      ]);
      expect((await billing.get('/api/v1/emails?limit=100')).body.items).toHaveLength(before.length);
    });

    it('refuses a batch whose template fails for one email, with 422', async () => {
      const response = await billing.post('/api/v1/emails/batch', {
        emails: [email('fine'), { to: ['ana@example.com'], template: 'welcome', data: { name: 'Ana' } }],
      });
      expect(response.status).toBe(422);
      expect(response.body.errors).toEqual([
        { field: 'emails[1].data.actionUrl', message: 'is required by the template' },
      ]);
    });

    it('refuses an empty batch and one over 500', async () => {
      expect((await billing.post('/api/v1/emails/batch', { emails: [] })).status).toBe(400);
      const tooMany = await billing.post('/api/v1/emails/batch', {
        emails: Array.from({ length: 501 }, () => email('x')),
      });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.errors).toEqual([{ field: 'emails', message: 'must hold at most 500 emails' }]);
    });
  });

  describe('group notifications', () => {
    it('sends one personalised email to each of 1,000 recipients, all sharing a groupId', async () => {
      sink.clear();
      const recipients = Array.from({ length: 1000 }, (_, n) => ({
        email: `user${n}@example.com`,
        name: `User ${n}`,
        data: { name: `User ${n}`, actionUrl: `https://app.example.com/start/${n}` },
      }));
      const started = Date.now();
      const response = await billing.post('/api/v1/emails/group', {
        recipients,
        template: 'welcome',
        data: { product: 'FreeFace', actionUrl: 'https://shared.example.com' },
      });
      expect(response.status).toBe(202);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(response.body).toMatchObject({ groupId: expect.any(String), count: 1000 });
      const ids = response.body.ids as string[];
      expect(new Set(ids).size).toBe(1000);

      await sink.waitForMessages(1000, 60_000);
      for (const n of [0, 499, 999]) {
        const mail = sink.find(ids[n]!)!;
        expect(mail.envelope.to).toEqual([`user${n}@example.com`]);
        expect(mail.parsed.subject).toBe(`Welcome to FreeFace, User ${n}`);
        // Each recipient's own data wins over the shared data.
        expect(mail.parsed.html).toContain(`href="https://app.example.com/start/${n}"`);
        expect(mail.parsed.text).toContain(`Welcome, User ${n}!`);
      }
      const status = await billing.get(`/api/v1/emails/${ids[0]!}`);
      expect(status.body).toMatchObject({ groupId: response.body.groupId, template: 'welcome' });
    });

    it('refuses the whole group, naming each recipient whose data does not render', async () => {
      const response = await billing.post('/api/v1/emails/group', {
        recipients: [
          { email: 'a@example.com', data: { name: 'A' } },
          { email: 'b@example.com' },
          { email: 'c@example.com', data: { name: 'C' } },
          { email: 'd@example.com' },
        ],
        template: 'welcome',
        data: { product: 'FreeFace', actionUrl: 'https://x.example.com' },
      });
      expect(response.status).toBe(422);
      expect(response.body.errors).toEqual([
        { field: 'recipients[1].data.name', message: 'is required by the template' },
        { field: 'recipients[3].data.name', message: 'is required by the template' },
      ]);
    });

    it('sends to a named group that an admin keeps', async () => {
      const members = [
        { email: 'g1@example.com', data: { name: 'G1' } },
        { email: 'g2@example.com', name: 'Gee Two', data: { name: 'G2' } },
      ];
      expect((await ops.put('/api/v1/groups/beta-testers', { members })).status).toBe(201);
      expect((await ops.put('/api/v1/groups/beta-testers', { members })).status).toBe(200);
      expect((await ops.get('/api/v1/groups/beta-testers')).body).toMatchObject({
        name: 'beta-testers',
        count: 2,
        members,
      });
      expect((await ops.get('/api/v1/groups')).body).toMatchObject({
        items: [{ name: 'beta-testers', count: 2 }],
        nextCursor: null,
      });

      const response = await billing.post('/api/v1/emails/group', {
        group: 'beta-testers',
        template: 'welcome',
        data: { product: 'FreeFace', actionUrl: 'https://x.example.com' },
        priority: 'high',
      });
      expect(response.status).toBe(202);
      expect(response.body.count).toBe(2);
      await waitUntil(
        () => (response.body.ids as string[]).every((id) => sink.find(id)),
        10_000,
        'group at the sink',
      );
      expect(sink.find((response.body.ids as string[])[1]!)!.parsed.to).toMatchObject({
        value: [{ name: 'Gee Two' }],
      });

      expect(
        (await billing.post('/api/v1/emails/group', { group: 'nobody', template: 'welcome' })).status,
      ).toBe(422);
      expect((await billing.get('/api/v1/groups/beta-testers')).status).toBe(403);
      expect((await ops.delete('/api/v1/groups/beta-testers')).status).toBe(204);
      expect((await ops.get('/api/v1/groups/beta-testers')).status).toBe(404);
    });

    it('validates group members', async () => {
      const invalid = await ops.put('/api/v1/groups/bad', {
        members: [{ email: 'x@example.com' }, { email: 'nope' }],
      });
      expect(invalid.status).toBe(400);
      expect(invalid.body.errors).toEqual([
        { field: 'members[1].email', message: 'must be an email address' },
      ]);
      const repeated = await ops.put('/api/v1/groups/bad', {
        members: [{ email: 'x@example.com' }, { email: 'X@example.com' }],
      });
      expect(repeated.status).toBe(400);
      expect(repeated.body.errors).toEqual([
        { field: 'members', message: 'lists x@example.com more than once' },
      ]);
      expect(
        (await ops.put('/api/v1/groups/Bad%20Name', { members: [{ email: 'x@example.com' }] })).status,
      ).toBe(404);
    });
  });

  describe('idempotency keys', () => {
    it('turns 20 concurrent requests with one key into one email, replaying the first response', async () => {
      const key = `order-${Date.now()}`;
      const body = email('once only');
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => billing.post('/api/v1/emails', body, { 'idempotency-key': key })),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(202));
      const ids = new Set(responses.map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
      expect(new Set(responses.map((r) => r.headers.get('location'))).size).toBe(1);
      const [id] = [...ids] as string[];
      await waitUntil(() => !!sink.find(id!), 10_000, 'the email at the sink');
      await queuesIdle(api.baseUrl);
      expect(sink.messages.filter((m) => m.parsed.headers.get('x-email-id') === id)).toHaveLength(1);
    });

    it('refuses the same key with another body, and keeps keys apart per service', async () => {
      const key = `invoice-${Date.now()}`;
      const first = await billing.post('/api/v1/emails', email('first'), { 'idempotency-key': key });
      expect(first.status).toBe(202);
      const other = await billing.post('/api/v1/emails', email('second'), { 'idempotency-key': key });
      expect(other.status).toBe(409);
      expect(other.headers.get('content-type')).toContain('application/problem+json');
      const elsewhere = await client(api.baseUrl, TOKENS.signup).post('/api/v1/emails', email('first'), {
        'idempotency-key': key,
      });
      expect(elsewhere.status).toBe(202);
      expect(elsewhere.body.id).not.toBe(first.body.id);
    });

    it('does not keep a failed request, so it may be retried with the same key', async () => {
      const key = `retry-${Date.now()}`;
      expect(
        (await billing.post('/api/v1/emails', email('x', { to: ['bad'] }), { 'idempotency-key': key }))
          .status,
      ).toBe(400);
      expect((await billing.post('/api/v1/emails', email('x'), { 'idempotency-key': key })).status).toBe(202);
    });

    it('refuses a malformed key', async () => {
      const response = await billing.post('/api/v1/emails', email('x'), {
        'idempotency-key': 'x'.repeat(256),
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        { field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' },
      ]);
    });

    it('works on batches too', async () => {
      const key = `batch-${Date.now()}`;
      const body = { emails: [email('b1'), email('b2')] };
      const first = await billing.post('/api/v1/emails/batch', body, { 'idempotency-key': key });
      const again = await billing.post('/api/v1/emails/batch', body, { 'idempotency-key': key });
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });
  });

  describe('listing', () => {
    it("walks 250 of a service's emails newest first, without loss or repeat", async () => {
      const lister = client(api.baseUrl, TOKENS.signup);
      const created: string[] = [];
      for (let start = 0; start < 250; start += 50) {
        const emails = Array.from({ length: 50 }, (_, n) => email(`list ${start + n}`));
        created.push(...((await lister.post('/api/v1/emails/batch', { emails })).body.ids as string[]));
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await lister.get(`/api/v1/emails?limit=40${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...(page.body.items as { id: string }[]).map((item) => item.id));
        cursor = page.body.nextCursor as string | null;
        pages++;
      } while (cursor);
      const ours = seen.filter((id) => created.includes(id));
      expect(ours).toHaveLength(250);
      expect(new Set(seen).size).toBe(seen.length);
      expect(pages).toBeGreaterThanOrEqual(7);
      // Newest first: ids are time-ordered UUIDv7s, so the walk is in descending id order.
      expect([...ours].sort().reverse()).toEqual(ours);
    });

    it("filters by status and never shows another service's emails", async () => {
      expect((await billing.post('/api/v1/emails', email('ours'))).status).toBe(202);
      expect((await client(api.baseUrl, TOKENS.signup).post('/api/v1/emails', email('theirs'))).status).toBe(
        202,
      );
      await waitUntil(
        async () => {
          const sent = await billing.get('/api/v1/emails?status=sent&limit=5');
          return (sent.body.items as unknown[]).length > 0;
        },
        10_000,
        'a sent email',
      );
      const sent = (await billing.get('/api/v1/emails?status=sent&limit=100')).body.items as {
        status: string;
        service: string;
      }[];
      expect(sent.every((item) => item.status === 'sent' && item.service === 'billing')).toBe(true);
      expect((await billing.get('/api/v1/emails?service=sign-up')).status).toBe(403);
      const asAdmin = await ops.get<{ items: { service: string }[] }>(
        '/api/v1/emails?service=sign-up&limit=5',
      );
      expect(asAdmin.body.items.length).toBeGreaterThan(0);
      expect(asAdmin.body.items.every((item) => item.service === 'sign-up')).toBe(true);
      expect((await billing.get('/api/v1/emails?status=lost')).status).toBe(400);
    });
  });
});
