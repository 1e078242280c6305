import { connect, type Socket } from 'node:net';
import { AppProcess } from '../support/app-process';
import { dashboardEnv } from '../support/dashboard';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { freePort, waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { emailIdOf, SmtpSink } from '../support/smtp-sink';

const CONCURRENCY = 3;

/** A connection that never sends a request: a client's spare keep-alive connection, a TCP probe. */
const connectSilently = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });

/** SIGTERM: stop taking jobs, finish running sends within SHUTDOWN_TIMEOUT_MS, exit 0, lose nothing. */
describe('graceful shutdown of a worker', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    env = { ...baseEnv(redis, sink), WORKER_CONCURRENCY: String(CONCURRENCY), JOB_LOCK_MS: '2000' };
    api = await AppProcess.start({ role: 'api', env });
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterEach(() => {
    sink.delayMs = 0;
  });

  afterAll(async () => {
    await api?.stop();
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  async function acceptMany(count: number, subject: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(
        (
          await billing.post('/api/v1/emails', {
            to: ['ana@example.com'],
            subject: `${subject} ${i}`,
            text: 'x',
          })
        ).body.id as string,
      );
    }
    return ids;
  }

  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body.status;

  it('finishes the sends in flight, takes no new job, and exits 0', async () => {
    sink.delayMs = 1500;
    const worker = await AppProcess.start({ role: 'worker', env: { ...env, SHUTDOWN_TIMEOUT_MS: '10000' } });
    const ids = await acceptMany(10, 'drain');
    await waitUntil(() => sink.inFlight === CONCURRENCY, 10_000, 'three sends in flight');
    const received = sink.messages.length;

    const stoppedAt = Date.now();
    expect(await worker.stop('SIGTERM')).toBe(0);
    const tookMs = Date.now() - stoppedAt;
    // The three running sends were answered and recorded; nothing else was started.
    expect(sink.messages.length - received).toBe(CONCURRENCY);
    expect(sink.inFlight).toBe(0);
    expect(tookMs).toBeLessThan(5000);
    const statuses = await Promise.all(ids.map(statusOf));
    expect(statuses.filter((s) => s === 'sent')).toHaveLength(sink.messages.length);
    expect(statuses.filter((s) => s === 'queued')).toHaveLength(10 - sink.messages.length);
    expect(worker.logs().map((l) => l.msg)).toEqual(
      expect.arrayContaining(['worker stopping: finishing running jobs', 'shut down cleanly']),
    );

    // What it left is delivered by the next worker.
    sink.delayMs = 0;
    const next = await AppProcess.start({ role: 'worker', env });
    await waitUntil(
      async () => (await Promise.all(ids.map(statusOf))).every((s) => s === 'sent'),
      20_000,
      'all sent',
    );
    expect(await next.stop()).toBe(0);
  });

  it('closes every port of a process that plays every role, silent connections and all, and exits 0 in time', async () => {
    const [workerPort, monitorPort, smtpPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const shutdownTimeoutMs = 2000;
    const all = await AppProcess.start({
      role: 'all',
      env: {
        ...env,
        ...dashboardEnv(),
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
        WORKER_HEALTH_PORT: String(workerPort),
        MONITOR_PORT: String(monitorPort),
        SMTP_HEALTH_PORT: String(smtpPort),
      },
    });
    const ports = [all.port, monitorPort, workerPort, smtpPort];
    const silent = await Promise.all(ports.map(connectSilently));

    const stoppedAt = Date.now();
    // Held by one of them, its port's close would wait for the deadline (and past it, the process exits 1).
    expect(await all.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(shutdownTimeoutMs);
    silent.forEach((socket) => socket.destroy());
    for (const port of ports) await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(all.logs().map((l) => l.msg)).toContain('shut down cleanly');
  });

  it('gives up on sends that outlast SHUTDOWN_TIMEOUT_MS, exits in time, and another worker delivers them', async () => {
    sink.messages.length = 0;
    sink.delayMs = 6000;
    const worker = await AppProcess.start({ role: 'worker', env: { ...env, SHUTDOWN_TIMEOUT_MS: '1000' } });
    const ids = await acceptMany(CONCURRENCY, 'slow');
    await waitUntil(() => sink.inFlight === CONCURRENCY, 10_000, 'the slow sends in flight');

    const stoppedAt = Date.now();
    const code = await worker.stop('SIGTERM');
    const tookMs = Date.now() - stoppedAt;
    expect(code).toBe(0);
    // Well inside Kubernetes' 30 s grace period, and not much more than the timeout itself.
    expect(tookMs).toBeLessThan(4000);
    expect(worker.logs().map((l) => l.msg)).toContain(
      'shutdown timeout: unfinished jobs return to the queue',
    );

    sink.delayMs = 0;
    const next = await AppProcess.start({ role: 'worker', env });
    await waitUntil(
      async () => (await Promise.all(ids.map(statusOf))).every((s) => s === 'sent'),
      30_000,
      'taken over',
    );
    const delivered = new Set(sink.messages.map((m) => emailIdOf(m)));
    expect(ids.every((id) => delivered.has(id))).toBe(true);
    expect(await next.stop()).toBe(0);
  });
});
