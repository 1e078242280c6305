import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

describe('priority order across queues', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('delivers a waiting high before any waiting medium, and medium before low', async () => {
    const env = baseEnv(redis, sink);
    const api = await AppProcess.start({ role: 'api', env });
    processes.push(api);
    const billing = client(api.baseUrl, TOKENS.billing);
    const send = async (priority: string, n: number) => {
      const response = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        subject: `${priority} ${n}`,
        text: 'x',
        priority,
      });
      expect(response.status).toBe(202);
      return response.body.id as string;
    };

    // The backlog builds up while no worker runs: lows first, then mediums, then highs.
    const lows = [];
    for (let n = 0; n < 12; n++) lows.push(await send('low', n));
    const mediums = [];
    for (let n = 0; n < 4; n++) mediums.push(await send('medium', n));
    const highs = [];
    for (let n = 0; n < 4; n++) highs.push(await send('high', n));

    // One slot, so the delivery order is exactly the order in which jobs are taken.
    processes.push(await AppProcess.start({ role: 'worker', env: { ...env, WORKER_CONCURRENCY: '1' } }));
    const received = await sink.waitForMessages(20);
    const order = received.map((m) => m.parsed.headers.get('x-email-id'));
    expect(order).toEqual([...highs, ...mediums, ...lows]);
  });
});
