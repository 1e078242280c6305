import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { emailIdOf, SmtpSink } from '../support/smtp-sink';

const EMAILS = 40;
const CONCURRENCY = 4;

/**
 * A worker killed with SIGKILL in the middle of sending: every accepted email is still delivered once a
 * worker runs again, and only the sends that were in flight at the kill can arrive twice (at-least-once).
 */
describe('crash safety: kill -9 of a worker mid-send', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    // Slow answers keep sends in flight; a short job lock lets the next worker take over the dead one's jobs
    // within seconds rather than the production default of 30 s.
    sink.delayMs = 400;
    env = { ...baseEnv(redis, sink), WORKER_CONCURRENCY: String(CONCURRENCY), JOB_LOCK_MS: '2000' };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('delivers every accepted email after a worker comes back, duplicating at most the in-flight sends', async () => {
    const ids: string[] = [];
    for (let i = 0; i < EMAILS; i++) {
      const accepted = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        subject: `crash ${i}`,
        text: 'Hello',
      });
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.id as string);
    }

    // Kill it once some emails went out and others are being sent right now.
    await waitUntil(() => sink.messages.length >= 6, 20_000, 'the first deliveries');
    await waitUntil(() => sink.inFlight > 0, 5000, 'a send in flight');
    const inFlightAtKill = sink.inFlight;
    const deliveredBeforeKill = sink.messages.length;
    await worker.stop('SIGKILL');
    expect(deliveredBeforeKill).toBeLessThan(EMAILS);

    worker = await AppProcess.start({ role: 'worker', env });
    await waitUntil(
      async () => {
        const statuses = await Promise.all(
          ids.map(async (id) => (await billing.get(`/api/v1/emails/${id}`)).body),
        );
        return statuses.every((s) => s.status === 'sent');
      },
      60_000,
      'every accepted email to be sent',
    );

    const receipts = new Map<string, number>();
    for (const message of sink.messages) {
      const id = emailIdOf(message);
      receipts.set(id, (receipts.get(id) ?? 0) + 1);
    }
    const lost = ids.filter((id) => !receipts.has(id));
    const duplicates = [...receipts.values()].reduce((sum, n) => sum + n - 1, 0);
    process.stdout.write(
      `crash: ${EMAILS} accepted, ${receipts.size} delivered, ${duplicates} duplicated, ${lost.length} lost ` +
        `(${inFlightAtKill} sends in flight at the kill)\n`,
    );
    expect(lost).toEqual([]);
    // Only a send the dead worker had started can be repeated: a re-run job checks the email's state first.
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    // Each repeat is announced by the worker that resumed it, so duplicates are counted where they happen.
    const resumed = worker
      .logs()
      .filter((line) => line.msg === 'resuming an interrupted delivery (possible duplicate)');
    expect(resumed.length).toBeGreaterThanOrEqual(duplicates);
    expect(resumed.length).toBeLessThanOrEqual(CONCURRENCY);
  });
});
