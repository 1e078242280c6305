import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const email = (subject: string) => ({ to: ['ana@example.com'], subject, text: 'Hello' });

/** Retries, dead letters and the queue figures, through the SMTP provider and a scripted SMTP sink. */
describe('retries and dead letters', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let app: AppProcess;
  let billing: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    app = await AppProcess.start({ role: 'all', env: baseEnv(redis, sink) });
    billing = client(app.baseUrl, TOKENS.billing);
    ops = client(app.baseUrl, TOKENS.ops);
  });

  afterEach(() => {
    sink.reply = () => undefined;
  });

  afterAll(async () => {
    await app?.stop();
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  async function settled(id: string): Promise<Record<string, unknown>> {
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === 'sent' || status.status === 'dead';
      },
      20_000,
      `email ${id} to settle`,
    );
    return status;
  }

  it('retries a 451 and sends on the third attempt', async () => {
    const first = sink.messages.length;
    let replies = 0;
    sink.reply = () => (++replies <= 2 ? { code: 451, message: '4.3.0 Try again later' } : undefined);
    const id = (await billing.post('/api/v1/emails', email('greylisted'))).body.id as string;
    const status = await settled(id);
    expect(status).toMatchObject({ status: 'sent', attempts: 3, provider: 'smtp' });
    expect(status.lastError).toContain('451');
    expect(sink.messages.length - first).toBe(1);
  });

  it('makes a 550 dead after one attempt, lists it, and delivers it when retried from there', async () => {
    sink.reply = () => ({ code: 550, message: '5.1.1 <nobody@example.com>: Recipient address rejected' });
    const id = (await billing.post('/api/v1/emails', email('rejected'))).body.id as string;
    const status = await settled(id);
    expect(status).toMatchObject({ status: 'dead', attempts: 1, provider: 'smtp' });
    expect(status.lastError).toContain('550 5.1.1 <nobody@example.com>: Recipient address rejected');

    const list = await ops.get('/api/v1/dead-letters');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        id,
        service: 'billing',
        provider: 'smtp',
        attempts: 1,
        lastError: status.lastError,
      }),
    ]);
    expect((await ops.get('/api/v1/queues')).body).toMatchObject({ deadLetters: 1 });

    sink.reply = () => undefined;
    const retried = await ops.post(`/api/v1/dead-letters/${id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ id, status: 'queued' });
    expect(await settled(id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(sink.find(id)).toBeDefined();
    expect((await ops.get('/api/v1/dead-letters')).body.items).toEqual([]);
    expect((await ops.post(`/api/v1/dead-letters/${id}/retry`)).status).toBe(404);
  });

  it('retries every dead letter at once, and drops one on request', async () => {
    sink.reply = () => ({ code: 554, message: '5.7.1 Message rejected' });
    const ids: string[] = [];
    for (const subject of ['a', 'b', 'c'])
      ids.push((await billing.post('/api/v1/emails', email(subject))).body.id as string);
    for (const id of ids) expect((await settled(id)).status).toBe('dead');

    expect((await ops.delete(`/api/v1/dead-letters/${ids[0]!}`)).status).toBe(204);
    expect((await ops.delete(`/api/v1/dead-letters/${ids[0]!}`)).status).toBe(404);
    sink.reply = () => undefined;
    const retried = await ops.post('/api/v1/dead-letters/retry?provider=smtp');
    expect(retried.status).toBe(202);
    expect(retried.body.retried).toBe(2);
    expect((retried.body.ids as string[]).sort()).toEqual([ids[1], ids[2]].sort());
    for (const id of ids.slice(1)) expect((await settled(id)).status).toBe('sent');
    expect((await billing.get(`/api/v1/emails/${ids[0]!}`)).body.status).toBe('dead');
  });

  it('pages dead letters with a cursor, newest first, without loss or repeat', async () => {
    sink.reply = () => ({ code: 550, message: '5.1.1 No such user' });
    const ids: string[] = [];
    for (let n = 0; n < 5; n++)
      ids.push((await billing.post('/api/v1/emails', email(`page ${n}`))).body.id as string);
    for (const id of ids) await settled(id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await ops.get(`/api/v1/dead-letters?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { id: string }[]).map((item) => item.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(seen.filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect((await ops.get('/api/v1/dead-letters?cursor=garbage')).status).toBe(400);
  });

  it('keeps dead letters and queue figures to admins', async () => {
    expect((await billing.get('/api/v1/dead-letters')).status).toBe(403);
    expect((await billing.get('/api/v1/queues')).status).toBe(403);
    const figures = await ops.get('/api/v1/queues');
    expect(figures.body).toMatchObject({
      queues: { high: expect.any(Object), medium: expect.any(Object), low: expect.any(Object) },
      scheduled: 0,
      providers: { smtp: { inChain: true, circuit: { state: 'closed' }, rateLimit: null } },
    });
  });
});
