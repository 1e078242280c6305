import Bull, { type Job, type Queue } from 'bull';
import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { bullKey } from '../support/bull-keys';
import { auditTrailWith, baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { parsePrometheusText } from '../support/prometheus-text';
import { SmtpSink } from '../support/smtp-sink';

const RECONCILER = { RECONCILER_INTERVAL_MS: '300', RECONCILER_STALE_MS: '1500' };

/**
 * The reconciler, end to end: emails left unfinished with no job to move them on (a worker killed with -9
 * mid-send whose job was then lost, jobs deleted or failed behind the app's back, a schedule whose job
 * vanished) are found by the one worker that leads, queued again (or dead-lettered when their attempts are
 * spent), audited and counted in /metrics; with two workers, one sweeps at a time, and the other takes over
 * when it dies.
 */
describe('the reconciler (api + two workers, jobs lost behind the app’s back)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let prefix: string;
  let api: AppProcess;
  let workers: AppProcess[] = [];
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    inspect = redis.client();
    // One attempt each; a dead worker's lock lasts 2 s.
    env = { ...baseEnv(redis, sink), MAX_ATTEMPTS: '1', JOB_LOCK_MS: '2000' };
    prefix = env.QUEUE_PREFIX!;
    api = await AppProcess.start({ role: 'api', env });
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), ...workers.map((worker) => worker.stop())]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const send = async (subject: string, extra: Record<string, unknown> = {}) => {
    const response = await billing.post('/api/v1/emails', {
      to: ['ana@example.com'],
      subject,
      text: 'x',
      ...extra,
    });
    expect(response.status).toBe(202);
    return response.body.id as string;
  };

  /** Deletes an email's job as an operator's mistake or a lost write would: the job and its queue entry. */
  const deleteJob = async (id: string, list: 'wait' | 'active' | 'delayed') => {
    const listKey = bullKey(prefix, 'medium', list);
    await inspect.del(bullKey(prefix, 'medium', id));
    if (list === 'delayed') await inspect.zrem(listKey, id);
    else await inspect.lrem(listKey, 0, id);
  };

  async function metricsOf(worker: AppProcess) {
    const response = await fetch(`http://127.0.0.1:${worker.healthPort}/metrics`, {
      headers: { authorization: `Bearer ${TOKENS.reports}` },
    });
    return parsePrometheusText(await response.text());
  }
  const sweepsOf = async (worker: AppProcess) =>
    (await metricsOf(worker)).get('freeface_reconciler_sweeps_total')?.samples[0]?.value ?? 0;
  const repairsOf = async (worker: AppProcess) =>
    Object.fromEntries(
      (await metricsOf(worker))
        .get('freeface_reconciler_repairs_total')!
        .samples.filter((s) => s.value > 0)
        .map((s) => [`${s.labels.status}/${s.labels.action}`, s.value]),
    );

  async function statusOf(id: string, wanted: string): Promise<Record<string, unknown>> {
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === wanted;
      },
      20_000,
      `email ${id} to be ${wanted}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(status)}`);
    });
    return status;
  }

  const reconciledDetail = async (id: string) =>
    (await auditTrailWith(billing, id, ['reconciled'])).find((e) => e.event === 'reconciled')?.detail;

  it('re-queues or dead-letters every stranded email, audits and counts each, with one worker sweeping', async () => {
    // 1. A worker killed with -9 between its claim and the outcome (the email `sending`, its one attempt
    //    spent), and the job lost with it.
    sink.delayMs = 30_000;
    const doomed = await AppProcess.start({
      role: 'worker',
      env: { ...env, RECONCILER_INTERVAL_MS: '3600000' },
    });
    const interrupted = await send('interrupted');
    await waitUntil(() => sink.inFlight > 0, 10_000, 'the send to start');
    await doomed.stop('SIGKILL');
    sink.delayMs = 0;
    expect(await inspect.hget(`${prefix}:email:${interrupted}`, 'status')).toBe('sending');
    await deleteJob(interrupted, 'active');

    // 2. A queued email whose job was deleted, 3. one whose job ended in Bull's failed set, 4. a scheduled
    //    email whose delayed job was deleted.
    const deleted = await send('job deleted');
    await deleteJob(deleted, 'wait');
    const failed = await send('job failed');
    const medium: Queue = new Bull('emails-medium', redis.url, { prefix });
    try {
      const taken = (await (medium as Queue & { moveToActive(): Promise<Job | null> }).moveToActive())!;
      expect(taken.id).toBe(failed);
      await taken.moveToFailed({ message: 'lost' });
    } finally {
      await medium.close();
    }
    const scheduled = await send('schedule lost', { sendAt: new Date(Date.now() + 1000).toISOString() });
    await deleteJob(scheduled, 'delayed');

    workers = await Promise.all(
      [1, 2].map(() => AppProcess.start({ role: 'worker', env: { ...env, ...RECONCILER } })),
    );
    for (const id of [deleted, failed, scheduled])
      expect(await statusOf(id, 'sent')).toMatchObject({ attempts: 1 });
    expect(await statusOf(interrupted, 'dead')).toMatchObject({
      attempts: 1,
      lastError: 'delivery stopped after its last attempt (1 of 1) with no job left to finish it',
    });
    expect(sink.messages.filter((m) => m.parsed.subject === 'interrupted')).toHaveLength(0);

    expect(await reconciledDetail(interrupted)).toEqual({
      previousStatus: 'sending',
      action: 'dead_lettered',
      job: 'missing',
      attempts: 1,
    });
    expect(await reconciledDetail(deleted)).toEqual({
      previousStatus: 'queued',
      action: 'requeued',
      job: 'missing',
      attempts: 0,
    });
    expect(await reconciledDetail(failed)).toMatchObject({ previousStatus: 'queued', job: 'finished' });
    expect(await reconciledDetail(scheduled)).toMatchObject({
      previousStatus: 'scheduled',
      action: 'requeued',
    });
    const letters = await client(api.baseUrl, TOKENS.ops).get<{ items: { id: string }[] }>(
      '/api/v1/dead-letters',
    );
    expect(letters.body.items.map((letter) => letter.id)).toContain(interrupted);

    // One worker leads: it made every sweep and every repair; the other made none.
    const sweeps = await Promise.all(workers.map(sweepsOf));
    const leader = sweeps[0]! > 0 ? 0 : 1;
    expect(sweeps[leader]).toBeGreaterThan(0);
    expect(sweeps[1 - leader]).toBe(0);
    expect(await repairsOf(workers[leader]!)).toEqual({
      'queued/requeued': 2,
      'scheduled/requeued': 1,
      'sending/dead_lettered': 1,
    });
    expect(await repairsOf(workers[1 - leader]!)).toEqual({});
    // Nothing is left unfinished.
    expect(await inspect.zcard(`${prefix}:unfinished`)).toBe(0);

    // The leader dies without a word: once its lease ends, the other one sweeps.
    await workers[leader]!.stop('SIGKILL');
    const follower = workers[1 - leader]!;
    await waitUntil(async () => (await sweepsOf(follower)) > 0, 15_000, 'the other worker to take over');
    const lostSchedule = await send('after the takeover', {
      sendAt: new Date(Date.now() + 1000).toISOString(),
    });
    await deleteJob(lostSchedule, 'delayed');
    expect(await statusOf(lostSchedule, 'sent')).toMatchObject({ attempts: 1 });
    expect(await repairsOf(follower)).toEqual({ 'scheduled/requeued': 1 });
  });
});
