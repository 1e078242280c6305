import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { bullKey } from '../support/bull-keys';
import { auditTrailWith, baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { SmtpSink } from '../support/smtp-sink';

const MAX_ATTEMPTS = 3;

/**
 * The email's record decides when it is dead, never Bull: errors of our own in the worker (here Redis
 * refusing the claim script's read of the provider's circuit, a real error of Redis's) put the job back as
 * often as they happen, without spending the email's attempts or Bull's, so the job can never land in Bull's
 * failed set while the record still says `retrying`.
 */
describe("errors of our own in the worker (api + worker, Redis refusing the claim's reads)", () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let prefix: string;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    inspect = redis.client();
    const env: Record<string, string> = { ...baseEnv(redis, sink), MAX_ATTEMPTS: String(MAX_ATTEMPTS) };
    prefix = env.QUEUE_PREFIX!;
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('keeps a retrying email in Bull through more of our errors than it has attempts, and sends it once they stop', async () => {
    const circuit = `${prefix}:circuit:smtp`;
    // The first send gets a 451 (a real attempt, retried); as it is answered, Redis starts refusing the
    // circuit's reads and writes, so the worker's own steps fail from then on.
    sink.reply = (n) => {
      if (n !== 1) return undefined;
      void inspect.set(circuit, 'not a hash');
      return { code: 451, message: '4.3.0 Try again later' };
    };
    const id = (
      await billing.post('/api/v1/emails', { to: ['ana@example.com'], subject: 'own errors', text: 'x' })
    ).body.id as string;
    const failedSet = bullKey(prefix, 'medium', 'failed');
    const handlerFailures = () =>
      worker.logs().filter((l) => l.msg === 'job handler failed; the job runs again later' && l.jobId === id)
        .length;
    // Either more errors of ours than the email has attempts, or Bull giving the job up.
    await waitUntil(
      async () => handlerFailures() > MAX_ATTEMPTS || (await inspect.zscore(failedSet, id)) !== null,
      20_000,
      `more than ${MAX_ATTEMPTS} failed runs of the job`,
    );
    expect(await inspect.zscore(failedSet, id)).toBeNull();
    const meanwhile = (await billing.get(`/api/v1/emails/${id}`)).body;
    // Only the 451 was an attempt: our own errors are not the email's.
    expect(meanwhile).toMatchObject({ status: 'retrying', attempts: 1 });

    await inspect.del(circuit);
    let status: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        status = (await billing.get(`/api/v1/emails/${id}`)).body;
        return status.status === 'sent';
      },
      20_000,
      'the email to be sent once Redis takes the reads again',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; status: ${JSON.stringify(status)}`);
    });
    expect(status.attempts).toBe(2);
    expect(sink.messages.filter((m) => m.parsed.subject === 'own errors')).toHaveLength(1);
    expect(await inspect.zcard(failedSet)).toBe(0);
    const audit = await auditTrailWith(billing, id, ['sent']);
    expect(audit.filter((e) => e.event === 'attempt')).toHaveLength(2);
  });
});
