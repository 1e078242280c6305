import Bull, { type Job, type Queue } from 'bull';
import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { breakJobAdds, bullKey } from '../support/bull-keys';
import { auditTrailWith, baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { SmtpSink } from '../support/smtp-sink';

type Api = ReturnType<typeof client>;

/**
 * Retrying a dead letter revives the record, takes it off the list and queues its job: a failure or a crash
 * between those steps must not strand the email (`queued`, off the list, with no job). Before the record is
 * revived nothing changes; after it, the reconciler queues the job that is missing. A job that a worker still
 * holds is not taken from it: the retry is refused (409) and nothing changes.
 */
describe('retrying a dead letter through failures (api + worker with a fast reconciler)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let prefix: string;
  let api: AppProcess;
  let worker: AppProcess | undefined;
  let billing: Api;
  let ops: Api;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    inspect = redis.client();
    env = {
      ...baseEnv(redis, sink),
      MAX_ATTEMPTS: '1',
      RECONCILER_INTERVAL_MS: '300',
      RECONCILER_STALE_MS: '1500',
    };
    prefix = env.QUEUE_PREFIX!;
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    ops = client(api.baseUrl, TOKENS.ops);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  async function statusOf(id: string, wanted: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === wanted;
      },
      timeoutMs,
      `email ${id} to be ${wanted}`,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(status)}`);
    });
    return status;
  }

  /** An email that the SMTP server refuses for good: dead after its one attempt, its job completed. */
  async function deadLetter(subject: string): Promise<string> {
    worker ??= await AppProcess.start({ role: 'worker', env });
    sink.reply = () => ({ code: 550, message: '5.1.1 Recipient address rejected' });
    const id = (await billing.post('/api/v1/emails', { to: ['ana@example.com'], subject, text: 'x' })).body
      .id as string;
    await statusOf(id, 'dead');
    await waitUntil(
      async () => (await inspect.zscore(bullKey(prefix, 'medium', 'completed'), id)) !== null,
      5000,
      'its job to complete',
    );
    sink.reply = () => undefined;
    return id;
  }

  const isListed = async (id: string) => (await inspect.zscore(`${prefix}:dead-letters`, id)) !== null;

  it('refuses the retry while a worker holds the last job, changing nothing, and retries once it is let go', async () => {
    const id = await deadLetter('held job');
    // The worker goes; a worker of the test's own (Bull itself, on the same queue) takes the email's job.
    await worker!.stop();
    worker = undefined;
    const queue: Queue = new Bull('emails-medium', redis.url, { prefix });
    try {
      await (await queue.getJob(id))!.remove();
      await queue.add({}, { jobId: id });
      const held = (await (queue as Queue & { moveToActive(): Promise<Job | null> }).moveToActive())!;
      expect(held.id).toBe(id);

      const refused = await ops.post(`/api/v1/dead-letters/${id}/retry`);
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((await billing.get(`/api/v1/emails/${id}`)).body.status).toBe('dead');
      expect(await isListed(id)).toBe(true);

      await held.moveToCompleted('let go', false, true);
    } finally {
      await queue.close();
    }
    expect((await ops.post(`/api/v1/dead-letters/${id}/retry`)).status).toBe(202);
    worker = await AppProcess.start({ role: 'worker', env });
    expect(await statusOf(id, 'sent')).toMatchObject({ attempts: 1 });
    expect(await isListed(id)).toBe(false);
  });

  it('delivers an email whose retry failed (and whose api died) after the record was revived', async () => {
    const id = await deadLetter('retry fails half way');
    const mend = await breakJobAdds(inspect, prefix);
    try {
      const failed = await ops.post(`/api/v1/dead-letters/${id}/retry`);
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      await mend();
    }
    // What a crash right after the revive leaves: the api is gone; nothing in it is needed to finish.
    await api.stop('SIGKILL');
    expect(await isListed(id)).toBe(false);
    expect(await inspect.hget(`${prefix}:email:${id}`, 'status')).toBe('queued');
    expect(await inspect.exists(bullKey(prefix, 'medium', id))).toBe(0);

    api = await AppProcess.start({ role: 'api', env });
    billing = client(api.baseUrl, TOKENS.billing);
    ops = client(api.baseUrl, TOKENS.ops);
    expect(await statusOf(id, 'sent')).toMatchObject({ attempts: 1 });
    const audit = await auditTrailWith(billing, id, ['reconciled', 'sent']);
    expect(audit.find((e) => e.event === 'reconciled')?.detail).toEqual({
      previousStatus: 'queued',
      action: 'requeued',
      job: 'missing',
      attempts: 0,
    });
  });
});
