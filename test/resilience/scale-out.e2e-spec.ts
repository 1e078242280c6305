import { AppProcess } from '../support/app-process';
import { baseEnv, client, queuesIdle, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { emailIdOf, SmtpSink } from '../support/smtp-sink';

const PER_PRIORITY = 100;
const WORKERS = 3;
const CONCURRENCY = 3;
const RATE = 100;
const BURST = 20;

/**
 * One api and three worker processes against one Redis, as operators scale it: with no fault, every email
 * arrives exactly once, higher priorities go first across all workers, and a shared rate limit holds.
 */
describe('scale-out: one api and three workers', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let workers: AppProcess[] = [];
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    env = { ...baseEnv(redis, sink), WORKER_CONCURRENCY: String(CONCURRENCY) };
    api = await AppProcess.start({ role: 'api', env });
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterEach(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    sink.messages.length = 0;
  });

  afterAll(async () => {
    await api?.stop();
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  /** Queues the emails (as batches of one priority each), then starts the workers. */
  async function queueThenStartWorkers(priorities: string[], workerEnv: Record<string, string>) {
    const ids: Record<string, string[]> = {};
    for (const priority of priorities) {
      const emails = Array.from({ length: PER_PRIORITY }, (_, i) => ({
        to: ['ana@example.com'],
        subject: `${priority} ${i}`,
        text: 'x',
        priority,
      }));
      const accepted = await billing.post<{ ids: string[] }>('/api/v1/emails/batch', { emails });
      expect(accepted.status).toBe(202);
      ids[priority] = accepted.body.ids;
    }
    workers = await Promise.all(
      Array.from({ length: WORKERS }, () => AppProcess.start({ role: 'worker', env: workerEnv })),
    );
    const all = Object.values(ids).flat();
    await sink.waitForMessages(all.length, 60_000);
    // Once no job is left, no extra send can still come.
    await queuesIdle(api.baseUrl);
    return { ids, all, arrivals: sink.messages.map(emailIdOf) };
  }

  /** When each email's (first) send started, from the audit trail's `attempt` events. */
  async function attemptTimes(count: number): Promise<Map<string, number>> {
    const ops = client(api.baseUrl, TOKENS.ops);
    const times = new Map<string, number>();
    await waitUntil(
      async () => {
        times.clear();
        let cursor: string | null = '';
        while (cursor !== null) {
          const page: { body: { items: { emailId: string; at: string }[]; nextCursor: string | null } } =
            await ops.get(`/api/v1/audit?event=attempt&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
          for (const entry of page.body.items) {
            const at = Date.parse(entry.at);
            times.set(entry.emailId, Math.min(at, times.get(entry.emailId) ?? at));
          }
          cursor = page.body.nextCursor;
        }
        return times.size >= count;
      },
      10_000,
      'the attempt events of every email',
    );
    return times;
  }

  function expectEachExactlyOnce(all: string[], arrivals: string[]) {
    const receipts = new Map<string, number>();
    arrivals.forEach((id) => receipts.set(id, (receipts.get(id) ?? 0) + 1));
    expect(all.filter((id) => receipts.get(id) !== 1)).toEqual([]);
    expect(arrivals).toHaveLength(all.length);
    const sentBy = workers.map((w) => w.logs().filter((l) => l.msg === 'email sent').length);
    expect(sentBy.every((n) => n > 0)).toBe(true);
    return sentBy;
  }

  it('delivers each email exactly once, high before medium before low across all workers', async () => {
    // Queued before any worker runs, lowest priority first: the order of arrival can only come from priority.
    const { ids, all, arrivals } = await queueThenStartWorkers(['low', 'medium', 'high'], env);
    const sentBy = expectEachExactlyOnce(all, arrivals);

    // Strict priority across processes, judged by when each send started (its audit `attempt` event): when
    // the last high email was taken, at most one send per slot of a lower priority may have started before
    // it (a slot that found the high queue empty an instant earlier). Arrival order at the sink is no judge:
    // a send on a fresh SMTP connection can arrive after one taken later on a warm one.
    const startedAt = await attemptTimes(all.length);
    const slots = WORKERS * CONCURRENCY;
    const lastStart = (list: string[]) => Math.max(...list.map((id) => startedAt.get(id)!));
    const startedBefore = (list: string[], time: number) =>
      list.filter((id) => startedAt.get(id)! < time).length;
    const overtakingHigh =
      startedBefore(ids.medium!, lastStart(ids.high!)) + startedBefore(ids.low!, lastStart(ids.high!));
    const overtakingMedium = startedBefore(ids.low!, lastStart(ids.medium!));
    expect(overtakingHigh).toBeLessThanOrEqual(slots);
    expect(overtakingMedium).toBeLessThanOrEqual(slots);
    process.stdout.write(
      `scale-out: ${all.length} emails by ${WORKERS} workers (${sentBy.join('/')}), in priority order ` +
        `(${overtakingHigh} lower sends started before the last high, ${overtakingMedium} low before the last ` +
        `medium), 0 duplicates\n`,
    );
  });

  it('holds one rate limit across all workers, still delivering each email exactly once', async () => {
    const limited = { ...env, RATE_LIMIT_SMTP: `${RATE}/s`, RATE_LIMIT_SMTP_BURST: String(BURST) };
    const { all, arrivals } = await queueThenStartWorkers(['medium', 'high'], limited);
    const sentBy = expectEachExactlyOnce(all, arrivals);

    // No one-second window holds more than the rate plus the burst, with 10% room for sends that started
    // inside the limit and were answered a little later.
    const times = sink.messages.map((m) => m.receivedAt).sort((a, b) => a - b);
    let busiest = 0;
    for (let start = 0, end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= 1000) start++;
      busiest = Math.max(busiest, end - start + 1);
    }
    const seconds = (times.at(-1)! - times[0]!) / 1000;
    process.stdout.write(
      `scale-out, ${RATE}/s burst ${BURST}: ${all.length} emails by ${WORKERS} workers (${sentBy.join('/')}), ` +
        `busiest second ${busiest}, ${seconds.toFixed(1)} s in all, 0 duplicates\n`,
    );
    expect(busiest).toBeLessThanOrEqual(Math.ceil((RATE + BURST) * 1.1));
    expect(seconds).toBeGreaterThanOrEqual((all.length - BURST) / RATE - 0.5);
  });
});
