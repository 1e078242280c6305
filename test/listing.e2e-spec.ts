import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { MAX_SCANNED_PER_PAGE } from '../src/common/paging';
import { AppProcess } from './support/app-process';
import { SendGridFake, sendGridErrorResponse } from './support/fakes/sendgrid-fake';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

type Page = {
  items: { id: string; emailId?: string; event?: string; status?: string }[];
  nextCursor: string | null;
};

/** How long one page may take to answer (it takes milliseconds). */
const PAGE_ANSWER_MS = 10_000;

const email = (n: number) => ({ to: [`reader${n}@example.com`], subject: `Listing ${n}`, text: 'Hello' });

/** One page, which must answer in time: a list that loops would otherwise hold the test until Jest's timeout. */
async function pageOf(api: ReturnType<typeof client>, url: string): Promise<Page> {
  let timer: NodeJS.Timeout | undefined;
  const answer = await Promise.race([
    api.get<Page>(url),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`GET ${url} did not answer within ${PAGE_ANSWER_MS} ms`)),
        PAGE_ANSWER_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  expect([url, answer.status]).toEqual([url, 200]);
  return answer.body;
}

/**
 * Follows nextCursor from the first page to the end, each page bounded in time and the walk in pages.
 * `between` runs after each page, before the next is asked for.
 */
async function walk(
  api: ReturnType<typeof client>,
  path: string,
  between: () => Promise<unknown> = () => Promise.resolve(),
): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    pages.push(await pageOf(api, cursor ? `${path}&cursor=${cursor}` : path));
    if (pages.length > 100) throw new Error(`${path}: paging did not end`);
    cursor = pages[pages.length - 1]!.nextCursor;
    await between();
  } while (cursor);
  return pages;
}

/** How many times Redis ran `command` while `during` ran (from INFO commandstats, reset before). */
async function commandCalls(redis: Redis, command: string, during: () => Promise<unknown>): Promise<number> {
  await redis.config('RESETSTAT');
  await during();
  const stats = await redis.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

describe('listing: every list pages to its end, each item once, at bounded cost per page', () => {
  describe('emails and the audit trail (api process; nothing is delivered)', () => {
    let redis: PrivateRedis;
    let app: AppProcess;
    let direct: Redis;
    let billing: ReturnType<typeof client>;
    let ops: ReturnType<typeof client>;

    beforeAll(async () => {
      redis = await PrivateRedis.start();
      app = await AppProcess.start({ role: 'api', env: baseEnv(redis) });
      direct = new Redis(redis.url);
      billing = client(app.baseUrl, TOKENS.billing);
      ops = client(app.baseUrl, TOKENS.ops);
    });

    afterAll(async () => {
      direct?.disconnect();
      await app?.stop();
      await redis?.stop();
    });

    const acceptBatch = async (count: number, from = 0) => {
      const answer = await billing.post('/api/v1/emails/batch', {
        emails: Array.from({ length: count }, (_, i) => email(from + i)),
      });
      expect(answer.status).toBe(202);
      return answer.body.ids as string[];
    };

    it('pages one batch of 100 emails (all of one createdAt) with limit=20: five pages, every id once, then the end', async () => {
      const ids = await acceptBatch(100);
      // One process makes a batch's ids in one millisecond, in the order of the batch: they sort that way.
      expect([...ids].sort()).toEqual(ids);
      for (const path of ['/api/v1/emails?limit=20', '/api/v1/emails?limit=20&service=billing']) {
        const pages = await walk(billing, path);
        expect(pages.map((page) => page.items.length)).toEqual([20, 20, 20, 20, 20]);
        const seen = pages.flatMap((page) => page.items.map((item) => item.id));
        expect(seen).toEqual([...ids].sort().reverse());
      }
      const everyService = (await walk(ops, '/api/v1/emails?limit=20&service=*')).flatMap((page) =>
        page.items.map((item) => item.id),
      );
      expect(everyService).toEqual([...ids].sort().reverse());
    });

    it('keeps its place among equal createdAt while more emails arrive between pages', async () => {
      const ids = await acceptBatch(60, 100);
      const pages = await walk(billing, '/api/v1/emails?limit=7', () => acceptBatch(3, 1000));
      const seen = pages.flatMap((page) => page.items.map((item) => item.id));
      // Newer emails land above the walk's position: the walk sees exactly what was there when it began.
      expect(seen.slice(0, ids.length)).toEqual([...ids].sort().reverse());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toHaveLength(160);
    });

    it('ends a filtered page after a bounded scan with a cursor, and finds the rare match on a later page', async () => {
      const rare = (await billing.post('/api/v1/emails', email(5000))).body.id as string;
      expect((await billing.delete(`/api/v1/emails/${rare}`)).body).toEqual({
        id: rare,
        status: 'cancelled',
      });
      // Far more emails that do not match, all newer than the cancelled one.
      const newer = MAX_SCANNED_PER_PAGE + 500;
      await Promise.all([0, 1, 2].map((part) => acceptBatch(newer / 3, 6000 + part * 1000)));

      let first: Page | undefined;
      const recordsRead = await commandCalls(direct, 'hmget', async () => {
        first = await pageOf(billing, '/api/v1/emails?status=cancelled&limit=20');
      });
      expect(first).toEqual({ items: [], nextCursor: expect.any(String) });
      expect(recordsRead).toBeLessThanOrEqual(MAX_SCANNED_PER_PAGE);

      const pages = await walk(billing, '/api/v1/emails?status=cancelled&limit=20');
      expect(pages.flatMap((page) => page.items.map((item) => [item.id, item.status]))).toEqual([
        [rare, 'cancelled'],
      ]);
      expect(pages.length).toBeGreaterThan(1);
    });

    it('bounds a filtered page of the audit trail the same way (?event=)', async () => {
      // The trail is written in the background: wait for the newest email's entry, written after all others.
      const latest = (await billing.get<Page>('/api/v1/emails?limit=1')).body.items[0]!.id;
      await waitUntil(
        async () => (await billing.get(`/api/v1/audit/${latest}`)).status === 200,
        10_000,
        'the audit trail to catch up',
      );
      const first = await pageOf(billing, '/api/v1/audit?event=cancelled&limit=20');
      expect(first).toEqual({ items: [], nextCursor: expect.any(String) });
      const pages = await walk(billing, '/api/v1/audit?event=cancelled&limit=20');
      const found = pages.flatMap((page) => page.items.map((item) => item.event));
      expect(found).toEqual(['cancelled']);
      expect(pages.length).toBeGreaterThan(1);
    });
  });

  describe('dead letters (api + worker, an SMTP sink refusing every recipient, SendGrid for the rare one)', () => {
    const apiKey = `SG.${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
    let redis: PrivateRedis;
    let sink: SmtpSink;
    let sendgrid: SendGridFake;
    let app: AppProcess;
    let billing: ReturnType<typeof client>;
    let ops: ReturnType<typeof client>;

    beforeAll(async () => {
      [redis, sink, sendgrid] = await Promise.all([
        PrivateRedis.start(),
        SmtpSink.start({ keep: false }),
        SendGridFake.start(apiKey),
      ]);
      sink.reply = () => ({ code: 550, message: '5.1.1 No such user' });
      app = await AppProcess.start({
        role: 'all',
        env: {
          ...baseEnv(redis, sink),
          SENDGRID_API_KEY: apiKey,
          SENDGRID_BASE_URL: sendgrid.url,
          WORKER_CONCURRENCY: '20',
        },
      });
      billing = client(app.baseUrl, TOKENS.billing);
      ops = client(app.baseUrl, TOKENS.ops);
    });

    afterAll(async () => {
      await app?.stop();
      await Promise.all([sink?.stop(), sendgrid?.stop(), redis?.stop()]);
    });

    const deadLetters = async () =>
      Number((await ops.get<{ deadLetters: number }>('/api/v1/queues')).body.deadLetters);

    it('ends a ?provider= page after a bounded scan with a cursor, and finds the rare match on a later page', async () => {
      sendgrid.failNext(1, sendGridErrorResponse(400, 'Does not contain a valid address.'));
      const rare = (await billing.post('/api/v1/emails', { ...email(1), provider: 'sendgrid' })).body
        .id as string;
      await waitUntil(async () => (await deadLetters()) === 1, 15_000, 'the SendGrid email to be dead');
      const many = MAX_SCANNED_PER_PAGE + 100;
      for (let from = 0; from < many; from += 500) {
        const emails = Array.from({ length: Math.min(500, many - from) }, (_, i) => email(10 + from + i));
        expect((await billing.post('/api/v1/emails/batch', { emails })).status).toBe(202);
      }
      await waitUntil(async () => (await deadLetters()) === many + 1, 60_000, 'every SMTP email to be dead');

      const first = await pageOf(ops, '/api/v1/dead-letters?provider=sendgrid&limit=20');
      expect(first).toEqual({ items: [], nextCursor: expect.any(String) });
      const pages = await walk(ops, '/api/v1/dead-letters?provider=sendgrid&limit=20');
      expect(pages.flatMap((page) => page.items.map((item) => item.id))).toEqual([rare]);

      // Retrying those of one provider follows the same pages to the rare one.
      const retried = await ops.post('/api/v1/dead-letters/retry?provider=sendgrid');
      expect(retried.body).toEqual({ retried: 1, ids: [rare] });
      const all = await walk(ops, '/api/v1/dead-letters?limit=100');
      const ids = all.flatMap((page) => page.items.map((item) => item.id));
      expect(ids).toHaveLength(many);
      expect(new Set(ids).size).toBe(many);
    });
  });
});
