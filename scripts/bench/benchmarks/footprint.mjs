// What the product costs to keep running, beside its speed:
// 1. Memory of the API process: the product (role api) and the bare baseline app are each given exactly the
//    same load (a fixed number of single POSTs, then of batches of 100), and their resident set is read from
//    /proc/<pid>/status once it is over (VmRSS; VmHWM is the peak). A fixed amount, not a fixed time, so
//    the faster app is not charged for having accepted more. Goal: RSS ≤ 1.5 × the bare app's.
// 2. Redis memory per waiting email: everything one accepted email leaves in Redis while it waits (record,
//    index entries, Bull job, audit trail, counters), as the growth of INFO used_memory (less connection
//    buffers) over N emails accepted through the API (role api: nothing drains), against a raw Bull job
//    carrying the same email as its data. Goal ≤ 1.2 × raw.
//    Each side gets a redis-server of its own, fresh, so neither the other's keys nor what earlier
//    benchmarks left (the key-space tables resize in steps) disturbs the difference. A warm-up of a few
//    hundred emails goes first and is not counted: the keys created once (streams, indexes, counters, Lua
//    scripts) then exist before the "before" reading, and the figure is the marginal cost of one more email.
//    The growth is broken down by key family with MEMORY USAGE on every key, before and after: what an
//    engineer trimming the product's footprint needs to see.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BENCH_SERVICE, generateToken, startBaseline, startProduct } from '../lib/apps.mjs';
import { email, emailBody } from '../lib/email-body.mjs';
import { probe, send } from '../lib/load.mjs';
import { sleep, waitUntil } from '../lib/processes.mjs';
import { parseInfo, startRedisServer } from '../lib/redis-server.mjs';
import { scanKeys, unlinkMatching } from '../lib/redis-scan.mjs';

const require = createRequire(import.meta.url);

const PREFIX = '{bench-footprint}';
const BASELINE_PREFIX = '{baseline-footprint}';
const RAW_PREFIX = '{bench-raw}';
const RSS_GOAL = 1.5;
const REDIS_GOAL = 1.2;
const BATCH = 100;
const BATCH_CONNECTIONS = 10;
/** Emails accepted before the "before" reading: past every one-off key and the sorted sets' listpack limit (128). */
const WARM_EMAILS = 300;
const SIZES = {
  full: { singles: 8_000, batches: 120, emails: 4_000 },
  quick: { singles: 4_000, batches: 40, emails: 1_000 },
};
/**
 * Between the last answer (or the last email landing in Redis) and a reading: the product's 1 s counter
 * flush has run, and Redis has shrunk idle clients' query buffers (after 2 s idle), so the readings compare
 * two quiet states. What client buffers still hold is subtracted anyway (mem_clients_normal).
 */
const SETTLE_MS = 3000;
/** Longer than the product's slowest background write (its counters' 1 s flush). */
const STEADY_MS = 1200;
/** Less than a byte per email: what Redis's own bookkeeping moves between two idle readings. */
const STEADY_BYTES = 512;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const MiB = 2 ** 20;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** Names of the product's key families (see src/redis/redis-keys.ts); the rest are named by pattern. */
const FAMILY_NAMES = [
  [/:audit:email:<id>$/, "the email's audit list"],
  [/:email:<id>$/, 'email record hash'],
  [/:email:<id>:message$/, "the email's rendered message"],
  [/:emails-(high|medium|low):<id>$/, 'Bull job hash'],
  [/:audit:all$/, 'audit stream of all services'],
  [/:audit:service:[^:]+$/, "audit stream of the email's service"],
  [/:emails-(high|medium|low):id$/, "Bull's job id counter"],
  [/:emails$/, 'index of all emails (sorted set)'],
  [/:emails:[^:]+$/, "index of the service's emails (sorted set)"],
  [/:wait$/, 'Bull wait list'],
  [/:raw-emails:<n>$/, 'Bull job hash'],
];

export default {
  name: 'footprint',
  order: 40,
  title: 'Footprint: API process memory after load, and Redis memory per waiting email',

  async run({ root, dist, redis, settings, log }) {
    const sizes = settings.durationS >= 10 ? SIZES.full : SIZES.quick;
    const token = generateToken(dist);
    const headers = { authorization: `Bearer ${token}` };
    const rows = [];
    const notes = [];
    const raw = { sizes };

    // 1. Process memory after the same load
    const load = {
      singles: sizes.singles,
      batches: sizes.batches,
      connections: settings.connections,
    };
    log(
      `RSS: each app gets ${fmt(load.singles)} single POSTs (${load.connections} connections), then ` +
        `${fmt(load.batches)} batches of ${BATCH} (${BATCH_CONNECTIONS} connections)`,
    );
    const baselineApp = await startBaseline({ root, redisUrl: redis.url, prefix: BASELINE_PREFIX });
    try {
      raw.baselineMemory = await memoryAfterLoad({ app: baselineApp, headers: {}, ...load });
    } finally {
      await baselineApp.stop();
      await unlinkMatching(redis.client, `${BASELINE_PREFIX}:*`);
    }
    const product = await startProduct({ root, dist, redisUrl: redis.url, prefix: PREFIX, token });
    try {
      raw.productMemory = await memoryAfterLoad({ app: product, headers, ...load });
    } finally {
      await product.stop();
      await unlinkMatching(redis.client, `${PREFIX}:*`);
    }
    const b = raw.baselineMemory;
    const p = raw.productMemory;
    rows.push(
      { key: 'baseline-rss', label: 'baseline app: RSS after the load', value: b.after.rss, unit: 'MiB' },
      {
        key: 'product-rss',
        label: 'product (api role): RSS after the load',
        value: p.after.rss,
        unit: 'MiB',
        vs: { key: 'baseline-rss', label: 'baseline' },
        goal: RSS_GOAL,
        goalDirection: 'max',
      },
      { key: 'baseline-peak', label: 'baseline app: peak RSS (VmHWM)', value: b.after.peak, unit: 'MiB' },
      {
        key: 'product-peak',
        label: 'product (api role): peak RSS (VmHWM)',
        value: p.after.peak,
        unit: 'MiB',
        vs: { key: 'baseline-peak', label: 'baseline' },
      },
    );
    const split = (m) =>
      `${m.rss.toFixed(1)} MiB (anon ${m.anon.toFixed(1)}, file ${m.file.toFixed(1)}, shmem ${m.shmem.toFixed(1)})`;
    notes.push(
      `RSS load, the same for both apps: ${fmt(load.singles)} single POSTs of the ~2 KB email over ` +
        `${load.connections} connections, then ${fmt(load.batches)} batches of ${BATCH} over ${BATCH_CONNECTIONS}` +
        ` (${fmt(load.singles + load.batches * BATCH)} emails), read ${SETTLE_MS / 1000} s after the last answer.`,
      `RSS at start (ready, before any request) → after the single POSTs → after the batches too: product ` +
        `${split(p.atStart)} → ${p.afterSingles.rss.toFixed(1)} MiB → ${split(p.after)}; baseline ` +
        `${split(b.atStart)} → ${b.afterSingles.rss.toFixed(1)} MiB → ${split(b.after)}.`,
      `One reading per app: V8 gives nothing back while idle (RSS stayed flat over 20 s idle in a trial), so ` +
        `the figure is where each heap stopped growing under this load, and that varies with GC timing (the ` +
        `ratio moved by about ±10% between runs on this machine).`,
    );

    // 2. Redis bytes per waiting email
    const count = sizes.emails;
    log(`Redis: ${fmt(count)} emails through the product's API into a fresh redis-server`);
    raw.productRedis = await redisPerEmail({
      count,
      open: async (server) => {
        const app = await startProduct({ root, dist, redisUrl: server.url, prefix: PREFIX, token });
        const url = `${app.url}/api/v1/emails`;
        await probe({ url, headers, body: emailBody(), expectStatus: 202 });
        let accepted = 1;
        return {
          add: async (n) => {
            await send({
              label: 'footprint accept',
              url,
              headers,
              body: emailBody(),
              connections: 10,
              amount: n,
            });
            accepted += n;
          },
          // Every email's job queued and counted (the counters flush last, every second); the rest of what
          // the product writes (records, indexes, audit) is not looked for by name, so that a change of its
          // layout cannot fool the check: settled() waits for used_memory to stop moving as well.
          landed: async () => {
            const [waiting, counted] = await Promise.all([
              server.client.llen(`${PREFIX}:emails-medium:wait`),
              server.client.hget(`${PREFIX}:service-metrics:${BENCH_SERVICE}`, 'emailsAccepted'),
            ]);
            return waiting === accepted && Number(counted) === accepted;
          },
          close: () => app.stop(),
        };
      },
    });
    log(`Redis: ${fmt(count)} raw Bull jobs (the same email as data) into a fresh redis-server`);
    raw.rawRedis = await redisPerEmail({
      count,
      open: async (server) => {
        const Bull = require(join(root, 'node_modules', 'bull'));
        const queue = new Bull('raw-emails', server.url, { prefix: RAW_PREFIX });
        let added = 0;
        return {
          add: async (n) => {
            for (let done = 0; done < n; done += 500) {
              const chunk = Math.min(500, n - done);
              await queue.addBulk(Array.from({ length: chunk }, () => ({ data: email() })));
            }
            added += n;
          },
          landed: async () => (await server.client.llen(`${RAW_PREFIX}:raw-emails:wait`)) === added,
          close: () => queue.close(),
        };
      },
    });
    const pr = raw.productRedis;
    const rr = raw.rawRedis;
    rows.push(
      {
        key: 'raw-bytes',
        label: 'raw: Bull job with the email as its data (addBulk)',
        value: rr.bytesPerEmail,
        unit: 'B/email',
      },
      {
        key: 'product-bytes',
        label: 'product: one waiting email, all it writes',
        value: pr.bytesPerEmail,
        unit: 'B/email',
        vs: { key: 'raw-bytes', label: 'raw' },
        goal: REDIS_GOAL,
        goalDirection: 'max',
      },
    );
    notes.push(
      `Redis bytes per email: growth of INFO used_memory, less that of mem_clients_normal (connection ` +
        `buffers), over ${fmt(count)} emails (after ${WARM_EMAILS} not counted), in a fresh redis-server per ` +
        `side, read once every job was queued and counted, ${SETTLE_MS / 1000} s more had passed and ` +
        `used_memory had stopped moving (within ${STEADY_BYTES} B over ${STEADY_MS} ms). Product: single ` +
        `POSTs (default priority, api role: nothing drains). used_memory ` +
        `${fmtBytes(pr.before.used)} → ${fmtBytes(pr.after.used)} (clients' buffers ` +
        `${signed(pr.after.clients - pr.before.clients)} B of that); raw ${fmtBytes(rr.before.used)} → ` +
        `${fmtBytes(rr.after.used)} (clients ${signed(rr.after.clients - rr.before.clients)} B).`,
      ...breakdownNotes('product', pr),
      ...breakdownNotes('raw', rr),
    );
    return { rows, notes, raw };
  },
};

/** The memory figures of /proc/<pid>/status, in MiB. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  return {
    rss: kib('VmRSS') / 1024,
    peak: kib('VmHWM') / 1024,
    anon: kib('RssAnon') / 1024,
    file: kib('RssFile') / 1024,
    shmem: kib('RssShmem') / 1024,
  };
}

async function memoryAfterLoad({ app, headers, singles, batches, connections }) {
  const atStart = memoryOf(app.pid);
  const single = { url: `${app.url}/api/v1/emails`, headers, body: emailBody() };
  const batch = {
    url: `${app.url}/api/v1/emails/batch`,
    headers,
    body: JSON.stringify({ emails: Array.from({ length: BATCH }, () => email()) }),
  };
  await probe({ ...single, expectStatus: 202 });
  await probe({ ...batch, expectStatus: 202 });
  const singlesResult = await send({ label: 'footprint singles', ...single, connections, amount: singles });
  const afterSingles = memoryOf(app.pid);
  const batchesResult = await send({
    label: 'footprint batches',
    ...batch,
    connections: BATCH_CONNECTIONS,
    amount: batches,
  });
  await sleep(SETTLE_MS);
  return { atStart, afterSingles, after: memoryOf(app.pid), singles: singlesResult, batches: batchesResult };
}

/**
 * Opens a writer on a fresh redis-server (`open(server)` → { add(n), landed(), close() }), adds WARM_EMAILS,
 * reads, adds `count`, reads again once everything has landed. Returns used_memory before and after, the
 * bytes per email, and the growth per key family.
 */
async function redisPerEmail({ count, open }) {
  const server = await startRedisServer();
  let writer;
  try {
    writer = await open(server);
    await writer.add(WARM_EMAILS);
    const before = await settled(server, writer);
    await writer.add(count);
    const after = await settled(server, writer);
    const families = [...new Set([...before.families.keys(), ...after.families.keys()])]
      .map((pattern) => {
        const a = before.families.get(pattern) ?? { bytes: 0, keys: 0 };
        const z = after.families.get(pattern) ?? { bytes: 0, keys: 0 };
        return {
          pattern,
          name: FAMILY_NAMES.find(([match]) => match.test(pattern))?.[1] ?? '',
          bytesPerEmail: (z.bytes - a.bytes) / count,
          keysPerEmail: (z.keys - a.keys) / count,
          encoding: z.encoding,
          fields: z.fields,
        };
      })
      .sort((x, y) => y.bytesPerEmail - x.bytesPerEmail);
    // Connection buffers are not what an email costs, and Redis shrinks them on timers of its own (an
    // output buffer after up to 5 s): they are taken out of the growth rather than waited for.
    const bytesPerEmail = (after.used - after.clients - (before.used - before.clients)) / count;
    const attributed = families.reduce((sum, f) => sum + f.bytesPerEmail, 0);
    return {
      count,
      before: { used: before.used, clients: before.clients },
      after: { used: after.used, clients: after.clients },
      bytesPerEmail,
      families,
      unattributedPerEmail: bytesPerEmail - attributed,
    };
  } finally {
    await writer?.close();
    await server.stop();
  }
}

/**
 * Waits until the writer's last emails have all landed, then until Redis's data stops growing (used_memory
 * less client buffers within STEADY_BYTES over STEADY_MS: any write still on its way would show), and reads
 * its memory.
 */
async function settled(server, writer) {
  await waitUntil(() => writer.landed(), 15_000, 'every accepted email to land in Redis');
  await sleep(SETTLE_MS);
  const read = async () => {
    const info = parseInfo(await server.client.info('memory'));
    return { used: Number(info.used_memory), clients: Number(info.mem_clients_normal) };
  };
  let reading = await read();
  const deadline = Date.now() + 10_000;
  for (;;) {
    await sleep(STEADY_MS);
    const next = await read();
    const grew = next.used - next.clients - (reading.used - reading.clients);
    reading = next;
    if (Math.abs(grew) < STEADY_BYTES) break;
    if (Date.now() > deadline)
      throw new Error(`Redis's used memory kept moving (${grew} B in ${STEADY_MS} ms)`);
  }
  return { ...reading, families: await keyFamilies(server.client) };
}

/**
 * Every key's MEMORY USAGE (SAMPLES 0: every element counted), summed per family: the key with its ids
 * replaced by <id> (a UUID) or <n> (Bull's numeric job ids). Per family, the encoding of one of its keys and,
 * for hashes, the mean length of each field's value (which field is worth trimming), for strings the value's.
 */
async function keyFamilies(client) {
  const keys = await scanKeys(client, '*');
  const pipeline = client.pipeline();
  keys.forEach((key) => pipeline.memory('USAGE', key, 'SAMPLES', '0'));
  const usage = await pipeline.exec();
  const families = new Map();
  keys.forEach((key, i) => {
    const pattern = key.replace(UUID, '<id>').replace(/:\d+$/, ':<n>');
    const family = families.get(pattern) ?? { bytes: 0, keys: 0, sample: [] };
    family.bytes += Number(usage[i][1] ?? 0);
    family.keys += 1;
    if (family.sample.length < 50) family.sample.push(key);
    families.set(pattern, family);
  });
  for (const family of families.values()) {
    const [key] = family.sample;
    family.encoding = `${await client.type(key)}/${await client.object('ENCODING', key)}`;
    if (family.encoding.startsWith('hash/') && family.keys > 1) {
      const hashes = await Promise.all(family.sample.map((k) => client.hgetall(k)));
      const lengths = {};
      for (const hash of hashes)
        for (const [field, value] of Object.entries(hash))
          lengths[field] = (lengths[field] ?? 0) + Buffer.byteLength(value) / hashes.length;
      family.fields = lengths;
    } else if (family.encoding.startsWith('string/') && family.keys > 1) {
      const lengths = await Promise.all(family.sample.map((k) => client.strlen(k)));
      family.fields = { value: lengths.reduce((a, n) => a + n, 0) / lengths.length };
    }
    delete family.sample;
  }
  return families;
}

function breakdownNotes(side, result) {
  const line = result.families
    .filter((f) => Math.abs(f.bytesPerEmail) >= 0.5)
    .map(
      (f) =>
        `${f.pattern}${f.name ? ` (${f.name})` : ''} [${f.encoding}, ${keysCell(f.keysPerEmail)}]: ` +
        `${fmt(f.bytesPerEmail)} B`,
    )
    .join('; ');
  const hashFields = result.families
    .filter((f) => f.fields && f.keysPerEmail >= 0.99)
    .map(
      (f) =>
        `${f.pattern}: ${Object.entries(f.fields)
          .sort((a, b) => b[1] - a[1])
          .map(([field, bytes]) => `${field} ${fmt(bytes)}`)
          .join(', ')}`,
    );
  return [
    `Redis bytes per email, ${side}, by key family (MEMORY USAGE of every key, after − before, ÷ ` +
      `${fmt(result.count)}): ${line}; not in any key's MEMORY USAGE (expiry entries, key-space tables, ` +
      `allocator rounding that MEMORY USAGE's estimates miss): ` +
      `${fmt(result.unattributedPerEmail)} B; ` +
      `total (used_memory growth less clients' buffers) ${fmt(result.bytesPerEmail)} B.`,
    ...(hashFields.length > 0
      ? [`Mean value bytes per hash field (of a string: its value), ${side}: ${hashFields.join('; ')}.`]
      : []),
  ];
}

const keysCell = (perEmail) =>
  perEmail >= 0.99 && perEmail <= 1.01
    ? 'a key per email'
    : perEmail === 0
      ? 'one shared key'
      : `${perEmail.toFixed(2)} keys/email`;
const fmtBytes = (n) => `${(n / MiB).toFixed(2)} MiB`;
const signed = (n) => (n >= 0 ? `+${fmt(n)}` : fmt(n));
