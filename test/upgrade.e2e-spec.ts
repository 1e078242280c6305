import Redis from 'ioredis';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink, emailIdOf } from './support/smtp-sink';

/**
 * What an earlier build left in Redis still goes out after an upgrade: an email whose message sits in its
 * record (before the message had a key of its own) is delivered by a current worker, and its record ends as
 * a current one does.
 */
describe('upgrade: emails stored by an earlier build (api, then a worker, one Redis)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let direct: Redis;
  const processes: AppProcess[] = [];

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    direct = new Redis(redis.url);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    direct?.disconnect();
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('delivers an email whose message is still inside its record', async () => {
    const env = baseEnv(redis, sink);
    const api = await AppProcess.start({ role: 'api', env });
    processes.push(api);
    const billing = client(api.baseUrl, TOKENS.billing);
    const id = (await billing.post('/api/v1/emails', { to: ['ana@example.com'], subject: 'Old', text: 'Hi' }))
      .body.id as string;
    // Rewrite it the way an earlier build stored it, before any worker runs.
    const record = `${env.QUEUE_PREFIX}:email:${id}`;
    const message = await direct.get(`${record}:message`);
    expect(message).toContain('ana@example.com');
    await direct.hset(record, 'message', message!);
    await direct.del(`${record}:message`);

    processes.push(await AppProcess.start({ role: 'worker', env }));
    await waitUntil(
      async () => (await billing.get(`/api/v1/emails/${id}`)).body.status === 'sent',
      15_000,
      'the old-format email to be sent',
    );
    const delivered = sink.messages.filter((m) => emailIdOf(m) === id);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.parsed.subject).toBe('Old');
    expect(await direct.hget(record, 'message')).toBeNull();
  });

  it("delivers a group email that carries its own copy of the group's shared data", async () => {
    const env = baseEnv(redis, sink);
    const api = await AppProcess.start({ role: 'api', env });
    processes.push(api);
    const billing = client(api.baseUrl, TOKENS.billing);
    const accepted = await billing.post('/api/v1/emails/group', {
      recipients: [{ email: 'old-group@example.com', data: { name: 'Ola' } }],
      template: 'welcome',
      data: { product: 'Old Shared', actionUrl: 'https://old.example.com' },
    });
    expect(accepted.status).toBe(202);
    const [id] = accepted.body.ids as string[];
    // Rewrite it the way an earlier build stored it: the merged data in the message, no shared data kept.
    const key = `${env.QUEUE_PREFIX}:email:${id!}:message`;
    const message = JSON.parse((await direct.get(key))!) as {
      render: { template: string; data: Record<string, unknown>; shared?: { groupId: string } };
    };
    const groupId = message.render.shared!.groupId;
    const shared = JSON.parse((await direct.get(`${env.QUEUE_PREFIX}:group-data:${groupId}`))!) as object;
    message.render = {
      template: 'welcome',
      data: { recipient: { email: 'old-group@example.com' }, ...shared, ...message.render.data },
    };
    await direct.set(key, JSON.stringify(message), 'KEEPTTL');
    await direct.del(
      `${env.QUEUE_PREFIX}:group-data:${groupId}`,
      `${env.QUEUE_PREFIX}:group-data:${groupId}:members`,
    );

    processes.push(await AppProcess.start({ role: 'worker', env }));
    await waitUntil(
      () => sink.messages.some((m) => emailIdOf(m) === id),
      15_000,
      'the old-format group email',
    );
    const delivered = sink.messages.find((m) => emailIdOf(m) === id)!;
    expect(delivered.parsed.subject).toBe('Welcome to Old Shared, Ola');
    expect(delivered.parsed.html).toContain('href="https://old.example.com"');
  });
});
