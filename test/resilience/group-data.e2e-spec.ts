import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { SmtpSink } from '../support/smtp-sink';

const KIB = 1024;
const MB = 1024 * 1024;
const DAY_MS = 86_400_000;
/** MAX_DATA_BYTES's default: the largest shared `data` a group may have. */
const MAX_DATA_BYTES = 64 * KIB;
const RECIPIENTS = 10_000;
/** The bounds: api RSS growth for one such group, and Redis growth against the group's unique bytes. */
const RSS_GROWTH_LIMIT = 300 * MB;
const REDIS_GROWTH_FACTOR = 2;

/** SERVICE_TOKEN_SIGN_UP_DAILY_BYTE_QUOTA in the first suite: room for one group with the largest shared data. */
const SIGN_UP_BYTE_QUOTA = 200_000;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/**
 * `digest`, for groups, shows shared values (greeting, product, notes), a recipient's own (name) and the
 * default `recipient`: what a delivered email shows proves how the data was merged. `note`, for single emails.
 */
function templatesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'freeface-group-data-'));
  const template = (name: string, parts: Record<string, string>) => {
    mkdirSync(join(dir, name));
    for (const [part, source] of Object.entries(parts)) writeFileSync(join(dir, name, `${part}.hbs`), source);
  };
  template('digest', {
    subject: '{{greeting}}, {{name}}',
    html: '<p>{{greeting}}, {{name}} ({{recipient.email}})</p><p>{{product}}</p><pre>{{notes}}</pre>',
    text: '{{greeting}}, {{name}} ({{recipient.email}})\n{{product}}\n{{notes}}',
  });
  template('note', { subject: '{{greeting}}, {{name}}', text: '{{product}}: {{notes}}' });
  return dir;
}

/**
 * Shared data of exactly `bytes` bytes of JSON: many top-level keys (each recipient's merged data would copy
 * every one of them) and a long `notes` that starts with `marker`, so that any copy of it can be found.
 */
function sharedData(bytes: number, marker: string): Record<string, unknown> {
  const facts = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`fact${i}`, `shared fact ${i}`]));
  const base = { greeting: 'Hello', product: 'FreeFace', notes: marker, ...facts };
  const data = { ...base, notes: marker + 'n'.repeat(bytes - jsonBytes(base)) };
  expect(jsonBytes(data)).toBe(bytes);
  return data;
}

/** Recipients with data of their own; every tenth overrides the shared greeting. */
const recipients = (count: number, domain = 'example.com') =>
  Array.from({ length: count }, (_, n) => ({
    email: `member${n}@${domain}`,
    name: `Member ${n}`,
    data: { name: `Member ${n}`, ...(n % 10 === 0 ? { greeting: `Hi there` } : {}) },
  }));

/** Resident memory of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1]);
}

/** The string keys under `prefix` whose value contains `marker`. */
async function keysHolding(redis: Redis, prefix: string, marker: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
    cursor = next;
    const types = (await keys.reduce((p, key) => p.type(key), redis.pipeline()).exec())!;
    const strings = keys.filter((_, i) => types[i]![1] === 'string');
    const values = (await strings.reduce((p, key) => p.get(key), redis.pipeline()).exec())!;
    strings.forEach((key, i) => {
      if (String(values[i]![1]).includes(marker)) found.push(key);
    });
  } while (cursor !== '0');
  return found;
}

/** Samples a process's RSS every few milliseconds while `work` runs; returns its result and the peak. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  try {
    const result = await work();
    return { result, peak: Math.max(peak, rssBytes(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

describe('one group call cannot take the service down (api alone, no worker)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let api: AppProcess;
  let env: Record<string, string>;
  let templates: string;
  let billing: ReturnType<typeof client>;
  let accepted = 0;

  /** Waits until the audit trail holds every accepted email's event, so that Redis's figures are settled. */
  const auditSettled = () =>
    waitUntil(
      async () => (await inspect.xlen(`${env.QUEUE_PREFIX}:audit:service:billing`)) >= accepted,
      15_000,
      'the audit trail to record every accepted email',
    );

  const sendGroup = async (body: Record<string, unknown>) => {
    const response = await billing.post<{ count: number; groupId: string }>('/api/v1/emails/group', body);
    if (response.status === 202) accepted += response.body.count;
    return response;
  };

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    inspect = redis.client();
    templates = templatesDir();
    // Room for a batch of 500 emails with data at the limit (500 × 64 KiB); sign-up may store 200 kB a day.
    env = {
      ...baseEnv(redis),
      TEMPLATES_DIR: templates,
      MAX_BODY_BYTES: String(40 * MB),
      SERVICE_TOKEN_SIGN_UP_DAILY_BYTE_QUOTA: String(SIGN_UP_BYTE_QUOTA),
    };
    api = await AppProcess.start({ role: 'api', env });
    billing = client(api.baseUrl, TOKENS.billing);
    // Warm-up: the first group pays for loading code, queues and audit streams.
    const warmUp = await sendGroup({
      recipients: recipients(10),
      template: 'digest',
      data: { greeting: 'Hello', product: 'FreeFace', notes: 'warm-up' },
    });
    expect(warmUp.status).toBe(202);
    await auditSettled();
  });

  afterAll(async () => {
    inspect?.disconnect();
    await api?.stop();
    await redis?.stop();
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  it('accepts 10,000 recipients with the largest shared data: shared data stored once, memory bounded', async () => {
    const prefix = env.QUEUE_PREFIX!;
    const marker = `SHARED-NOTES-${Math.random().toString(36).slice(2)}`;
    const shared = sharedData(MAX_DATA_BYTES, marker);
    const members = recipients(RECIPIENTS);

    const rssBefore = rssBytes(api.pid);
    const redisBefore = await usedMemory(inspect);
    const started = performance.now();
    const { result: response, peak } = await peakRss(api.pid, () =>
      sendGroup({ recipients: members, template: 'digest', data: shared }),
    );
    const acceptMs = performance.now() - started;
    expect(response.status).toBe(202);
    expect(response.body.count).toBe(RECIPIENTS);
    await auditSettled();
    const groupGrowth = (await usedMemory(inspect)) - redisBefore;

    // The shared data is in Redis once, not in any recipient's message.
    expect(await keysHolding(inspect, prefix, marker)).toHaveLength(1);

    // What the same recipients cost without the large shared data: each recipient's own part of the group.
    const perRecipientBefore = await usedMemory(inspect);
    const small = await sendGroup({
      recipients: members,
      template: 'digest',
      data: { greeting: 'Hello', product: 'FreeFace', notes: 'short' },
    });
    expect(small.status).toBe(202);
    await auditSettled();
    const perRecipientParts = (await usedMemory(inspect)) - perRecipientBefore;
    const uniqueBytes = MAX_DATA_BYTES + perRecipientParts;

    process.stdout.write(
      `group-data: ${RECIPIENTS} recipients with ${MAX_DATA_BYTES} bytes of shared data accepted in ` +
        `${Math.round(acceptMs)} ms; api RSS ${(rssBefore / MB).toFixed(1)} → peak ${(peak / MB).toFixed(1)} MB ` +
        `(+${((peak - rssBefore) / MB).toFixed(1)}); Redis +${(groupGrowth / MB).toFixed(2)} MB, the same ` +
        `recipients with small shared data +${(perRecipientParts / MB).toFixed(2)} MB, unique bytes ` +
        `${(uniqueBytes / MB).toFixed(2)} MB\n`,
    );
    expect(peak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    expect(groupGrowth).toBeLessThan(REDIS_GROWTH_FACTOR * uniqueBytes);
    // The large shared data costs about its own size, not its size per recipient.
    expect(groupGrowth - perRecipientParts).toBeLessThan(REDIS_GROWTH_FACTOR * MAX_DATA_BYTES + MB);
  });

  it('refuses 10,000 recipients with 512 KiB of shared data with 413 at once, and stays up', async () => {
    const indexBefore = await inspect.zcard(`${env.QUEUE_PREFIX}:emails`);
    const rssBefore = rssBytes(api.pid);
    const started = performance.now();
    const { result: response, peak } = await peakRss(api.pid, () =>
      sendGroup({
        recipients: recipients(RECIPIENTS),
        template: 'digest',
        data: sharedData(512 * KIB, 'TOO-LARGE'),
      }),
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({
      type: 'urn:freeface:problem:payload-too-large',
      errors: [
        { field: 'data', message: `is ${512 * KIB} bytes of JSON; at most ${MAX_DATA_BYTES} are accepted` },
      ],
    });
    expect(peak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
    expect((await fetch(`${api.baseUrl}/health/ready`)).status).toBe(200);
    expect(await inspect.zcard(`${env.QUEUE_PREFIX}:emails`)).toBe(indexBefore);
  });

  it('refuses a group naming each recipient whose own data is over the limit, before rendering', async () => {
    const members = recipients(40);
    const big = { name: 'Big', notes: 'x'.repeat(MAX_DATA_BYTES) };
    members[17]!.data = big;
    members[31]!.data = big;
    // Recipient 5's data would not render (no name): the size is checked first, so only sizes are named.
    members[5]!.data = {} as (typeof members)[number]['data'];
    const response = await sendGroup({ recipients: members, template: 'digest', data: { greeting: 'Hi' } });
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({
      errors: [
        {
          field: 'recipients[17].data',
          message: expect.stringMatching(/^is \d+ bytes of JSON; at most 65536/),
        },
        {
          field: 'recipients[31].data',
          message: expect.stringMatching(/^is \d+ bytes of JSON; at most 65536/),
        },
      ],
    });
  });

  it("counts a group's bytes against the service's daily byte quota, the shared data once", async () => {
    const signUp = client(api.baseUrl, TOKENS.signup);
    const group = {
      recipients: recipients(100),
      template: 'digest',
      data: sharedData(MAX_DATA_BYTES, 'QUOTA'),
    };
    const day = new Date().toISOString().slice(0, 10);
    const counter = `${env.QUEUE_PREFIX}:daily-bytes:sign-up:${day}`;

    expect((await signUp.post('/api/v1/emails/group', group)).status).toBe(202);
    const used = Number(await inspect.get(counter));
    // The shared data once, and a few hundred bytes of each recipient's own message.
    expect(used).toBeGreaterThan(MAX_DATA_BYTES + 100 * 200);
    expect(used).toBeLessThan(MAX_DATA_BYTES + 100 * 1000);

    const indexBefore = await inspect.zcard(`${env.QUEUE_PREFIX}:emails`);
    const refused = await signUp.post('/api/v1/emails/group', group);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.detail).toMatch(
      new RegExp(
        `^These 100 emails \\(\\d+ bytes to store\\) would exceed the daily quota of ${SIGN_UP_BYTE_QUOTA} bytes ` +
          `\\(${used} bytes accepted today, UTC\\); nothing was accepted\\.`,
      ),
    );
    expect(Number(await inspect.get(counter))).toBe(used);
    expect(await inspect.zcard(`${env.QUEUE_PREFIX}:emails`)).toBe(indexBefore);
  });

  it('accepts a batch of 500 emails with data at the limit, and names an email whose data is over it', async () => {
    const data = (n: number, bytes: number) => {
      const base = { greeting: 'Hello', name: `Ana ${n}`, product: 'FreeFace', notes: 'short', padding: '' };
      return { ...base, padding: 'p'.repeat(bytes - jsonBytes(base)) };
    };
    const email = (n: number, bytes = MAX_DATA_BYTES) => ({
      to: [`batch${n}@example.com`],
      template: 'note',
      data: data(n, bytes),
    });
    const rssBefore = rssBytes(api.pid);
    const { result: response, peak } = await peakRss(api.pid, () =>
      billing.post<{ ids: string[] }>('/api/v1/emails/batch', {
        emails: Array.from({ length: 500 }, (_, n) => email(n)),
      }),
    );
    expect(response.status).toBe(202);
    expect(response.body.ids).toHaveLength(500);
    expect(peak - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);

    const over = await billing.post('/api/v1/emails/batch', {
      emails: [email(0), email(1), email(2), email(3, MAX_DATA_BYTES + 1)],
    });
    expect(over.status).toBe(413);
    expect(over.body.errors).toEqual([
      {
        field: 'emails[3].data',
        message: `is ${MAX_DATA_BYTES + 1} bytes of JSON; at most 65536 are accepted`,
      },
    ]);
    const single = await billing.post('/api/v1/emails', email(4, MAX_DATA_BYTES + 1));
    expect(single.status).toBe(413);
    expect(single.body.errors).toEqual([
      { field: 'data', message: `is ${MAX_DATA_BYTES + 1} bytes of JSON; at most 65536 are accepted` },
    ]);
  });
});

describe('group shared data at delivery (api and worker)', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let env: Record<string, string>;
  let templates: string;
  let billing: ReturnType<typeof client>;
  let ops: ReturnType<typeof client>;

  const groupDataKeys = async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await inspect.scan(cursor, 'MATCH', `${env.QUEUE_PREFIX}:group-data:*`);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  };
  const statusOf = async (id: string) => (await billing.get(`/api/v1/emails/${id}`)).body.status;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    inspect = redis.client();
    templates = templatesDir();
    env = { ...baseEnv(redis, sink), TEMPLATES_DIR: templates, WORKER_CONCURRENCY: '8' };
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
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  it("merges the shared data with each recipient's own at delivery, and drops it once all are done", async () => {
    const marker = `DELIVERED-NOTES-${Math.random().toString(36).slice(2)}`;
    const shared = sharedData(MAX_DATA_BYTES, marker);
    // A suppressed member is done too: it must not hold the shared data.
    expect(
      (await ops.post('/api/v1/suppressions', { email: 'member7@example.com', reason: 'manual' })).status,
    ).toBe(201);
    const response = await billing.post<{ ids: string[] }>('/api/v1/emails/group', {
      recipients: recipients(30),
      template: 'digest',
      data: shared,
    });
    expect(response.status).toBe(202);
    const ids = response.body.ids;
    const sent = ids.filter((_, n) => n !== 7);
    await waitUntil(() => sent.every((id) => sink.find(id)), 30_000, 'the group at the sink');
    await waitUntil(async () => (await statusOf(ids[7]!)) === 'suppressed', 10_000, 'member 7 suppressed');
    for (const n of [0, 1, 29]) {
      const mail = sink.find(ids[n]!)!;
      const greeting = n % 10 === 0 ? 'Hi there' : 'Hello';
      expect(mail.envelope.to).toEqual([`member${n}@example.com`]);
      expect(mail.parsed.subject).toBe(`${greeting}, Member ${n}`);
      expect(mail.parsed.text).toContain(`${greeting}, Member ${n} (member${n}@example.com)\nFreeFace\n`);
      expect(mail.parsed.text).toContain(shared.notes as string);
      expect(mail.parsed.html).toContain(`<pre>${shared.notes as string}</pre>`);
    }
    // Released as the last member is done: nothing of the group's data is left behind.
    await waitUntil(async () => (await groupDataKeys()).length === 0, 10_000, 'the shared data to go');
  });

  it("holds a named group's members to MAX_DATA_BYTES", async () => {
    const members = [
      { email: 'g1@example.com', data: { name: 'G1' } },
      { email: 'g2@example.com', data: { name: 'G2', notes: 'x'.repeat(MAX_DATA_BYTES) } },
    ];
    const refused = await ops.put('/api/v1/groups/big', { members });
    expect(refused.status).toBe(413);
    expect(refused.body.errors).toEqual([
      {
        field: 'members[1].data',
        message: `is ${MAX_DATA_BYTES + 24} bytes of JSON; at most 65536 are accepted`,
      },
    ]);
    expect((await ops.get('/api/v1/groups/big')).status).toBe(404);
  });

  it('keeps the shared data for a scheduled group as long as its members, and for a dead letter', async () => {
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await billing.post<{ ids: string[]; groupId: string }>('/api/v1/emails/group', {
      recipients: recipients(3, 'later.example.com'),
      template: 'digest',
      data: { greeting: 'Hello', product: 'FreeFace', notes: 'scheduled' },
      sendAt,
    });
    expect(scheduled.status).toBe(202);
    const keys = await groupDataKeys();
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const ttl = await inspect.pttl(key);
      // EMAIL_RETENTION_DAYS (7) after its sendAt, as its members' messages.
      expect(ttl).toBeGreaterThan(7 * DAY_MS + 3_500_000);
      expect(ttl).toBeLessThanOrEqual(7 * DAY_MS + 3_600_000);
    }
    for (const id of scheduled.body.ids)
      expect((await billing.delete(`/api/v1/emails/${id}`)).status).toBe(200);

    // A member refused by the server is dead; retried, it goes out with the shared data.
    let refuse = true;
    sink.reply = () => (refuse ? { code: 550, message: '5.1.1 Mailbox unavailable' } : undefined);
    const group = await billing.post<{ ids: string[] }>('/api/v1/emails/group', {
      recipients: recipients(1, 'dead.example.com'),
      template: 'digest',
      data: { greeting: 'Hello', product: 'FreeFace', notes: 'revived notes' },
    });
    expect(group.status).toBe(202);
    const [id] = group.body.ids;
    await waitUntil(async () => (await statusOf(id!)) === 'dead', 15_000, 'the member to be dead');
    refuse = false;
    sink.reply = () => undefined;
    expect((await ops.post(`/api/v1/dead-letters/${id!}/retry`)).status).toBe(202);
    await waitUntil(() => sink.find(id!) !== undefined, 15_000, 'the retried member at the sink');
    expect(sink.find(id!)!.parsed.text).toContain(
      'Hi there, Member 0 (member0@dead.example.com)\nFreeFace\nrevived notes',
    );
  });
});
