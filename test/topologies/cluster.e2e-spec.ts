import { RedisKeys } from '../../src/redis/redis-keys';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { ClusterTopology } from '../support/redis-topologies';
import { SmtpSink } from '../support/smtp-sink';
import { WebhookReceiver } from '../support/webhook-receiver';

/** Partitions of the emails, each in a slot of its own (RedisKeys): spread over the cluster's shards. */
const PARTITIONS = 6;

/**
 * The core of the service on a real Redis Cluster (3 primaries, a replica each) through REDIS_CLUSTER_NODES,
 * with the emails in REDIS_PARTITIONS=6 partitions: every connection (commands, Bull's subscriber and blocking
 * ones) goes through the cluster client, no script spans two slots, and the work spreads over the shards. Then,
 * each under load: a partition's slot moves to another shard, the shared slot's primary hands it to its
 * replica, and that primary is killed.
 */
describe(`Redis Cluster (3 primaries with a replica each), ${PARTITIONS} partitions`, () => {
  let cluster: ClusterTopology;
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let api: AppProcess;
  let worker: AppProcess;
  let billing: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;
  let keys: RedisKeys;

  beforeAll(async () => {
    [cluster, sink, receiver] = await Promise.all([
      ClusterTopology.start(),
      SmtpSink.start(),
      WebhookReceiver.start(),
    ]);
    const env: Record<string, string> = {
      ...baseEnv({ REDIS_CLUSTER_NODES: cluster.nodeList }, sink),
      REDIS_WAIT_REPLICAS: '1',
      REDIS_PARTITIONS: String(PARTITIONS),
      JOB_LOCK_MS: '2000',
      RECONCILER_INTERVAL_MS: '500',
      RECONCILER_STALE_MS: '3000',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      API_RATE_LIMIT: 'off',
    };
    [api, worker] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
    ]);
    keys = new RedisKeys(env.QUEUE_PREFIX!, PARTITIONS);
    billing = client(api.baseUrl, TOKENS.billing);
    ops = client(api.baseUrl, TOKENS.ops);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), receiver?.stop(), cluster?.stop()]);
  });

  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body.status as string;
  const waitForStatus = (id: string, wanted: string, timeoutMs = 20_000) =>
    waitUntil(async () => (await statusOf(id)) === wanted, timeoutMs, `email ${id} to be ${wanted}`);
  const email = (subject: string, extra: Record<string, unknown> = {}) => ({
    to: ['ana@example.com'],
    subject,
    text: 'x',
    ...extra,
  });

  // A key of the shared slot (providers' circuits and buckets, quotas, webhooks): every claim touches it.
  const sharedSlotKey = () => keys.circuit('smtp');

  it('spreads the partitions over every shard', async () => {
    const shards = await Promise.all(
      keys
        .partitionNumbers()
        .map(async (partition) => (await cluster.primaryOf(keys.queuePrefix(partition))).port),
    );
    expect(new Set(shards).size).toBe(3);
  });

  it('sends one email, a batch and a group notification', async () => {
    const one = await billing.post('/api/v1/emails', email('one'));
    expect(one.status).toBe(202);
    const batch = await billing.post('/api/v1/emails/batch', {
      emails: Array.from({ length: 20 }, (_, i) => email(`batch ${i}`)),
    });
    expect(batch.status).toBe(202);
    const group = await billing.post('/api/v1/emails/group', {
      recipients: Array.from({ length: 30 }, (_, n) => ({
        email: `user${n}@example.com`,
        data: { name: `U${n}` },
      })),
      template: 'welcome',
      data: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
    });
    expect(group.status).toBe(202);
    const ids = [one.body.id as string, ...(batch.body.ids as string[]), ...(group.body.ids as string[])];
    await sink.waitForMessages(ids.length, 30_000);
    for (const id of ids) expect(sink.find(id)).toBeDefined();
    // Each email's audit trail is in its partition; the service's trail merges every partition's stream.
    const events = (id: string) =>
      billing
        .get<{ items: { event: string }[] }>(`/api/v1/audit/${id}`)
        .then(({ body }) => body.items.map((e) => e.event));
    await waitUntil(
      async () => (await events(one.body.id as string)).includes('sent'),
      10_000,
      'the trail of one',
    );
    expect((await events(one.body.id as string))[0]).toBe('accepted');
    const listed = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await billing.get<{
        items: { emailId: string; event: string }[];
        nextCursor: string | null;
      }>(`/api/v1/audit?event=accepted&limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      for (const item of page.body.items) listed.add(item.emailId);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect(ids.filter((id) => !listed.has(id))).toEqual([]);
  });

  it('sends a scheduled email when due and never one cancelled', async () => {
    const sendAt = new Date(Date.now() + 1500).toISOString();
    const later = await billing.post('/api/v1/emails', email('later', { sendAt }));
    const cancelled = await billing.post('/api/v1/emails', email('cancelled', { sendAt }));
    expect([later.status, cancelled.status]).toEqual([202, 202]);
    expect((await billing.delete(`/api/v1/emails/${cancelled.body.id as string}`)).status).toBe(200);
    await waitForStatus(later.body.id as string, 'sent');
    expect(sink.find(later.body.id as string)!.receivedAt).toBeGreaterThanOrEqual(Date.parse(sendAt));
    expect(await statusOf(cancelled.body.id as string)).toBe('cancelled');
    expect(sink.find(cancelled.body.id as string)).toBeUndefined();
  });

  it('retries a refused send, dead-letters a rejected one, and retries it from the dead letters', async () => {
    sink.reply = (n) =>
      n === sink.messages.length + 1 ? { code: 451, message: '4.7.1 Try later' } : undefined;
    const retried = await billing.post('/api/v1/emails', email('retried'));
    await waitForStatus(retried.body.id as string, 'sent');
    expect((await billing.get(`/api/v1/emails/${retried.body.id as string}`)).body.attempts).toBe(2);

    sink.reply = () => ({ code: 550, message: '5.1.1 Recipient address rejected' });
    const dead = await billing.post('/api/v1/emails', email('dead'));
    await waitForStatus(dead.body.id as string, 'dead');
    sink.reply = () => undefined;
    expect((await ops.post(`/api/v1/dead-letters/${dead.body.id as string}/retry`)).status).toBe(202);
    await waitForStatus(dead.body.id as string, 'sent');
  });

  it('tells a webhook about a sent email', async () => {
    expect(
      (await billing.post('/api/v1/webhooks', { url: receiver.url, events: ['email.sent'] })).status,
    ).toBe(201);
    // Each process reloads the endpoints when it sees them change: send until the first event arrives.
    const sent: string[] = [];
    await waitUntil(
      async () => {
        sent.push((await billing.post('/api/v1/emails', email('hooked'))).body.id as string);
        return receiver.received.some((hook) => sent.includes(hook.json.data.emailId as string));
      },
      20_000,
      'an email.sent webhook',
    );
  });

  /**
   * Sends emails from 4 callers while `disturb` runs, then until 100 more were accepted; every accepted email
   * must be delivered, and every refusal a 503.
   */
  async function underLoad(disturb: () => Promise<string>): Promise<void> {
    const accepted: string[] = [];
    const unexpected: string[] = [];
    let refused = 0;
    let stopped = false;
    const senders = Array.from({ length: 4 }, async (_, s) => {
      for (let i = 0; !stopped; i++) {
        const answer = await billing
          .post('/api/v1/emails', email(`disturbed ${s}-${i}`))
          .catch((error: Error) => ({ status: 0, body: { error: error.message } }));
        if (answer.status === 202) accepted.push((answer.body as { id: string }).id);
        else if (answer.status === 503) refused++;
        else unexpected.push(`${answer.status} ${JSON.stringify(answer.body)}`);
        await new Promise((r) => setTimeout(r, 40));
      }
    });
    await waitUntil(() => accepted.length >= 100, 20_000, 'emails to be accepted');
    const what = await disturb();
    const before = accepted.length;
    await waitUntil(() => accepted.length >= before + 100, 60_000, 'emails accepted afterwards');
    stopped = true;
    await Promise.all(senders);
    expect(unexpected).toEqual([]);
    await waitUntil(
      () => accepted.every((id) => sink.find(id) !== undefined),
      60_000,
      'every accepted email to be delivered',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${accepted.filter((id) => !sink.find(id)).length} missing`);
    });
    const received = new Map<string, number>();
    for (const mail of sink.messages) {
      const id = mail.parsed.headers.get('x-email-id') as string;
      received.set(id, (received.get(id) ?? 0) + 1);
    }
    const twice = accepted.filter((id) => received.get(id)! > 1).length;
    process.stdout.write(
      `cluster, ${what}: ${accepted.length} accepted, ${refused} answered 503, ${twice} delivered twice\n`,
    );
  }

  it("loses nothing accepted when a partition's slot moves to another shard under load (resharding)", async () => {
    await underLoad(async () => {
      const moved = await cluster.moveSlot(keys.queuePrefix(0));
      return `partition 0's slot moved with ${moved.keys} keys in ${moved.ms} ms`;
    });
  }, 180_000);

  it('loses nothing accepted when the shared slot is handed to its replica under load (CLUSTER FAILOVER)', async () => {
    await underLoad(
      async () => `shared slot handed over in ${(await cluster.handOver(sharedSlotKey())).switchMs} ms`,
    );
  }, 180_000);

  it('loses nothing accepted when the primary of the shared slot is killed under load', async () => {
    await underLoad(
      async () =>
        `primary killed, shared slot taken over in ${(await cluster.failOver(sharedSlotKey())).switchMs} ms`,
    );
  }, 180_000);
});
