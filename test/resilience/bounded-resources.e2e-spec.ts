import { readFileSync } from 'node:fs';
import type Redis from 'ioredis';
import { RedisKeys } from '../../src/redis/redis-keys';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { waitUntil } from '../support/ports';
import { PrivateRedis } from '../support/private-redis';
import { SmtpSink } from '../support/smtp-sink';

/** How many emails go through; BOUNDED_EMAILS makes a shorter (or longer) run. */
const EMAILS = Number(process.env.BOUNDED_EMAILS ?? 100_000);
/** The batch endpoint's maximum (MAX_BATCH in src/emails/dto/send-many.dto.ts). */
const BATCH = 500;
/** Batches in flight at once: two cores, shared with Redis and the worker. */
const PARALLEL_BATCHES = 2;
const SAMPLE_MS = 1000;
const MB = 1024 * 1024;
const DAY_MS = 86_400_000;

/**
 * The bounds, from measured runs (docs/RELIABILITY.md, "Bounded resources"), each with a margin for noise that
 * a real leak would still cross. Redis figures are `used_memory` differences divided by the emails.
 */
const BOUNDS = {
  /** Measured 3,339: the record, its message (~1 KB of text and HTML), job, queue entry, indexes, audit. */
  waitingBytesPerEmail: 4 * 1024,
  /**
   * Measured 967: the record (552), two index entries (272), Redis's per-key overhead (its key table keeps the
   * size it grew to for the four keys of each waiting email). Without the audit trail (below) and without
   * Bull's kept completed jobs (a fixed 1,000 per queue).
   */
  sentBytesPerEmail: 1280,
  /** Measured 1,159: three audit events (accepted, attempt, sent), each once in its service's stream. */
  auditBytesPerEmail: 1536,
  /** Bull keeps 1,000 completed jobs per queue; everything else without an expiry is a fixed set of keys. */
  keysWithoutTtl: 3 * 1000 + 100,
  /**
   * The live heap (what V8 keeps after a full collection, from `--trace-gc`), median of the second quarter of
   * the run against median of the last: measured +0.2 MB (worker, 50 MB). 10 MB over the ~50,000 emails
   * between the two is a leak of 200 bytes per email.
   */
  liveHeapGrowthMb: 10,
  /** The live heap at the last full collection: measured 50 MB (worker) and 60 MB (api). */
  liveHeapMb: 100,
  /** RSS growth over the last quarter: measured 0.9 MB, once V8 has sized its heap in the first quarter. */
  rssLastQuarterGrowthMb: 48,
  /** V8 lets the heap grow lazily before collecting harder: measured 418 MB (worker) and 470 MB (api) at most. */
  rssMb: 700,
};

const body = (i: number) => ({
  to: [{ email: `customer-${i}@example.com`, name: 'Ana Customer' }],
  subject: `Your order ${i} has shipped`,
  text:
    `Hello Ana,\n\nyour order ${i} left our warehouse today and should arrive within three working days. ` +
    'You can follow the parcel with the link in your account. Thank you for shopping with us!\n\nThe shop team',
  html:
    `<p>Hello Ana,</p><p>your order <b>${i}</b> left our warehouse today and should arrive within three ` +
    'working days. You can follow the parcel with the link in <a href="https://shop.example.com/account">your ' +
    'account</a>.</p><p>Thank you for shopping with us!</p><p>The shop team</p>',
  tags: ['order', 'shipped'],
  metadata: { orderId: String(i) },
});

/** Resident memory of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)![1]);
}

const CATEGORIES = ['records', 'indexes', 'auditPerEmail', 'auditStreams', 'bull', 'other'] as const;
type Category = (typeof CATEGORIES)[number];
type PerCategory = Record<Category, number>;
const perCategory = (): PerCategory =>
  Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as unknown as PerCategory;

interface KeyCensus {
  /** MEMORY USAGE summed per kind of key (key, value and Redis's per-key overhead). */
  bytes: PerCategory;
  keys: PerCategory;
  /** Keys with no expiry, by kind. */
  withoutTtl: PerCategory;
  /** The longest time to live left, by kind. */
  maxTtlMs: PerCategory;
}

/** Every key under the prefix, sorted by what it holds, with its size and its expiry. */
async function census(redis: Redis, prefix: string): Promise<KeyCensus> {
  const result: KeyCensus = {
    bytes: perCategory(),
    keys: perCategory(),
    withoutTtl: perCategory(),
    maxTtlMs: perCategory(),
  };
  const categoryOf = (key: string): Category => {
    const rest = key.slice(prefix.length + 1);
    if (rest.startsWith('email:')) return 'records';
    if (rest === 'emails' || rest.startsWith('emails:')) return 'indexes';
    if (rest.startsWith('audit:email:')) return 'auditPerEmail';
    if (rest.startsWith('audit:')) return 'auditStreams';
    if (/^emails-(high|medium|low):/.test(rest)) return 'bull';
    return 'other';
  };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 2000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0').pttl(key);
    const replies = (await pipeline.exec())!;
    keys.forEach((key, i) => {
      const category = categoryOf(key);
      const ttlMs = Number(replies[2 * i + 1]![1]);
      result.keys[category]++;
      result.bytes[category] += Number(replies[2 * i]![1] ?? 0);
      if (ttlMs === -1) result.withoutTtl[category]++;
      else result.maxTtlMs[category] = Math.max(result.maxTtlMs[category], ttlMs);
    });
  } while (cursor !== '0');
  return result;
}

interface Sample {
  atMs: number;
  accepted: number;
  delivered: number;
  redisBytes: number;
  apiRss: number;
  apiLines: number;
  workerRss?: number;
  workerLines?: number;
}

/**
 * V8's full collections (`--trace-gc`: "Mark-Compact 184.6 (304.6) -> 54.9 (216.7) MB"): the heap left after
 * each is what the process really holds, without the garbage that RSS and heap-used figures swing with.
 * `progress` maps a line's position in the output to how far the run was when it was written.
 */
function liveHeapAfterFullGcs(lines: string[], progress: (lineIndex: number) => number) {
  const points: { progress: number; liveMb: number }[] = [];
  lines.forEach((line, index) => {
    const match = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    if (match) points.push({ progress: progress(index), liveMb: Number(match[1]) });
  });
  return points;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)]!;
};

/** Median live heap of the second quarter of a run and of the last quarter, and the number of points in each. */
function liveHeapGrowth(points: { progress: number; liveMb: number }[], total: number) {
  const within = (from: number, to: number) =>
    points.filter((p) => p.progress >= from * total && p.progress <= to * total).map((p) => p.liveMb);
  const [second, last] = [within(0.25, 0.5), within(0.75, 1)];
  return {
    secondMb: median(second),
    lastMb: median(last),
    finalMb: points[points.length - 1]?.liveMb ?? NaN,
    points: [second.length, last.length],
  };
}

/**
 * 100,000 emails through one api and one worker to an SMTP sink: what Redis holds per email while it waits
 * and once it is sent, and that neither Redis nor the processes grow without bound.
 */
describe('bounded resources: 100,000 emails through one worker', () => {
  let redis: PrivateRedis;
  let inspect: Redis;
  let sink: SmtpSink;
  let env: Record<string, string>;
  let api: AppProcess;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start({ keep: false })]);
    inspect = redis.client();
    env = baseEnv(redis, sink);
    api = await AppProcess.start({ role: 'api', env, nodeArgs: ['--trace-gc'] });
  });

  afterAll(async () => {
    inspect?.disconnect();
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it(
    'keeps Redis and process memory bounded, and little per email once sent',
    async () => {
      const started = Date.now();
      const prefix = env.QUEUE_PREFIX!;
      const billing = client(api.baseUrl, TOKENS.billing);
      const ids: string[] = [];
      const samples: Sample[] = [];
      const sample = async () => {
        const redisBytes = await usedMemory(inspect);
        samples.push({
          atMs: Date.now() - started,
          accepted: ids.length,
          delivered: sink.accepted,
          redisBytes,
          apiRss: rssBytes(api.pid),
          apiLines: api.stdout.length,
          ...(worker ? { workerRss: rssBytes(worker.pid), workerLines: worker.stdout.length } : {}),
        });
      };
      /**
       * Once billing's audit stream holds `auditEntries` entries and its per-service figures read `figures`:
       * both are written in batches after what they record, and the memory measured must include them.
       */
      const auditStream = new RedisKeys(prefix).auditStream('billing');
      const writesCaughtUp = async (auditEntries: number, figures: Record<string, number>) => {
        let seen: unknown[] = [];
        await waitUntil(
          async () => {
            const [entries, metrics] = await Promise.all([
              inspect.xlen(auditStream),
              billing.get<{ billing?: Record<string, unknown> }>('/api/v1/service-metrics'),
            ]);
            seen = [entries, metrics.body.billing];
            return (
              entries >= auditEntries &&
              Object.entries(figures).every(([name, value]) => metrics.body.billing?.[name] === value)
            );
          },
          60_000,
          `${auditEntries} audit entries and the figures ${JSON.stringify(figures)}`,
        ).catch((error: Error) => {
          throw new Error(`${error.message}; seen ${JSON.stringify(seen)}`);
        });
      };
      await sample();
      const before = samples[0]!.redisBytes;
      const sampler = setInterval(() => void sample(), SAMPLE_MS);
      try {
        // 1. Every email accepted while no worker runs: each one is then "waiting".
        const batches = Math.ceil(EMAILS / BATCH);
        let nextBatch = 0;
        const sender = async () => {
          while (nextBatch < batches) {
            const first = nextBatch++ * BATCH;
            const emails = Array.from({ length: Math.min(BATCH, EMAILS - first) }, (_, i) => body(first + i));
            const accepted = await billing.post<{ ids: string[] }>('/api/v1/emails/batch', { emails });
            if (accepted.status !== 202) throw new Error(`batch refused: ${JSON.stringify(accepted.body)}`);
            ids.push(...accepted.body.ids);
          }
        };
        await Promise.all(Array.from({ length: PARALLEL_BATCHES }, sender));
        const acceptSeconds = (Date.now() - started) / 1000;
        expect(ids).toHaveLength(EMAILS);
        await writesCaughtUp(EMAILS, { emailsAccepted: EMAILS });
        await sample();
        const waiting = samples[samples.length - 1]!.redisBytes;
        const waitingCensus = await census(inspect, prefix);

        // 2. One worker delivers them all.
        const deliveryStarted = Date.now();
        worker = await AppProcess.start({ role: 'worker', env, nodeArgs: ['--trace-gc'] });
        await sample();
        await sink.waitForCount(EMAILS, 30 * 60_000);
        const deliverySeconds = (Date.now() - deliveryStarted) / 1000;
        // A job completes (and trims Bull's completed set) just after its send is recorded; the audit trail
        // (accepted, attempt, sent) and the per-service counters are written after it.
        const queueKeys = ['high', 'medium', 'low'].flatMap((p) => [
          `${prefix}:emails-${p}:wait`,
          `${prefix}:emails-${p}:active`,
        ]);
        await waitUntil(
          async () => (await Promise.all(queueKeys.map((key) => inspect.llen(key)))).every((n) => n === 0),
          30_000,
          'every job to complete',
        );
        await writesCaughtUp(3 * EMAILS, { emailsAccepted: EMAILS, emailsSent: EMAILS });
        clearInterval(sampler);
        await sample();
        const sent = samples[samples.length - 1]!.redisBytes;
        const sentCensus = await census(inspect, prefix);

        // Each delivered once.
        expect(sink.receipts.size).toBe(EMAILS);
        expect([...sink.receipts.values()].filter((n) => n !== 1)).toEqual([]);
        expect(ids.filter((id) => !sink.receipts.has(id))).toEqual([]);

        // Redis, per email.
        const peak = Math.max(...samples.map((s) => s.redisBytes));
        const auditBytes = sentCensus.bytes.auditPerEmail + sentCensus.bytes.auditStreams;
        const perEmail = {
          waiting: (waiting - before) / EMAILS,
          sent: (sent - before) / EMAILS,
          sentKept: (sent - before - auditBytes - sentCensus.bytes.bull) / EMAILS,
          audit: auditBytes / EMAILS,
        };
        const bytesPerEmail = (c: KeyCensus) =>
          Object.fromEntries(
            CATEGORIES.map((category) => [category, Math.round(c.bytes[category] / EMAILS)]),
          );
        const ttlDays = Object.fromEntries(
          CATEGORIES.filter((c) => sentCensus.maxTtlMs[c] > 0).map((c) => [
            c,
            Number((sentCensus.maxTtlMs[c] / DAY_MS).toFixed(1)),
          ]),
        );

        // The processes: RSS, and the live heap after each full collection.
        const workerSamples = samples.filter((s) => s.workerRss !== undefined);
        // A line's progress is that of the first sample taken after it; after its phase, the work is all done
        // (the api's full collections while it idles show what it kept of 100,000 accepted emails).
        const progressOf =
          (lines: 'apiLines' | 'workerLines', done: 'accepted' | 'delivered', of: Sample[]) =>
          (index: number) =>
            of.find((s) => s[lines]! > index)?.[done] ?? EMAILS;
        const workerHeap = liveHeapGrowth(
          liveHeapAfterFullGcs(worker.stdout, progressOf('workerLines', 'delivered', workerSamples)),
          EMAILS,
        );
        const acceptSamples = samples.filter((s) => s.workerRss === undefined);
        const apiHeap = liveHeapGrowth(
          liveHeapAfterFullGcs(api.stdout, progressOf('apiLines', 'accepted', acceptSamples)),
          EMAILS,
        );
        const atThreeQuarters = workerSamples.find((s) => s.delivered >= EMAILS * 0.75)!;
        const lastWorker = workerSamples[workerSamples.length - 1]!;
        const workerRssGrowthMb = (lastWorker.workerRss! - atThreeQuarters.workerRss!) / MB;
        const workerRssMaxMb = Math.max(...workerSamples.map((s) => s.workerRss!)) / MB;
        const apiRssMaxMb = Math.max(...samples.map((s) => s.apiRss)) / MB;
        const mb = (bytes: number) => (bytes / MB).toFixed(1);

        process.stdout.write(
          `bounded-resources: ${EMAILS} emails accepted in ${acceptSeconds.toFixed(0)} s, delivered by one worker ` +
            `in ${deliverySeconds.toFixed(0)} s (${Math.round(EMAILS / deliverySeconds)}/s), each once; ` +
            `Redis used_memory ${mb(before)} MB before, ${mb(waiting)} MB all waiting, ${mb(peak)} MB peak, ` +
            `${mb(sent)} MB all sent; bytes per email: waiting ${Math.round(perEmail.waiting)}, sent ` +
            `${Math.round(perEmail.sent)} = audit ${Math.round(perEmail.audit)} + Bull's kept jobs ` +
            `${Math.round(sentCensus.bytes.bull / EMAILS)} + the rest ${Math.round(perEmail.sentKept)}; ` +
            `MEMORY USAGE per email waiting ` +
            `${JSON.stringify(bytesPerEmail(waitingCensus))}, sent ${JSON.stringify(bytesPerEmail(sentCensus))}; ` +
            `keys without TTL ${JSON.stringify(sentCensus.withoutTtl)}, longest TTL (days) ${JSON.stringify(ttlDays)}; ` +
            `worker RSS ${mb(workerSamples[0]!.workerRss!)} → ${mb(atThreeQuarters.workerRss!)} (75 %) → ` +
            `${mb(lastWorker.workerRss!)} MB (max ${workerRssMaxMb.toFixed(1)}), live heap ` +
            `${workerHeap.secondMb} MB (2nd quarter) → ${workerHeap.lastMb} MB (last quarter) over ` +
            `${workerHeap.points.join('+')} full GCs, ${workerHeap.finalMb} MB at the last; api RSS max ` +
            `${apiRssMaxMb.toFixed(1)} MB, live heap ${apiHeap.secondMb} → ${apiHeap.lastMb} MB over ` +
            `${apiHeap.points.join('+')} full GCs, ${apiHeap.finalMb} MB at the last\n`,
        );

        expect(perEmail.waiting).toBeLessThan(BOUNDS.waitingBytesPerEmail);
        expect((peak - before) / EMAILS).toBeLessThan(BOUNDS.waitingBytesPerEmail);
        expect(perEmail.sentKept).toBeLessThan(BOUNDS.sentBytesPerEmail);
        expect(perEmail.audit).toBeLessThan(BOUNDS.auditBytesPerEmail);
        // Nothing kept per email lives forever: records and audit lists expire; the rest is trimmed.
        expect(sentCensus.withoutTtl.records).toBe(0);
        expect(sentCensus.withoutTtl.auditPerEmail).toBe(0);
        expect(Object.values(sentCensus.withoutTtl).reduce((a, b) => a + b, 0)).toBeLessThan(
          BOUNDS.keysWithoutTtl,
        );
        expect(sentCensus.maxTtlMs.records).toBeLessThanOrEqual(7 * DAY_MS); // EMAIL_RETENTION_DAYS
        expect(sentCensus.maxTtlMs.auditPerEmail).toBeLessThanOrEqual(30 * DAY_MS); // AUDIT_RETENTION_DAYS

        // No leak in either process. The worker handles emails through the whole run, so its live heap is
        // compared between the second and the last quarter (a short run may have too few full collections in a
        // quarter to compare). The api accepts everything in the first ~10 % of the run and then only answers
        // status polls: its quarters hold a few collections of whatever garbage was around (60 → 75 MB in one
        // run, 50 MB at its last), so it is judged by the live heap at its last collection, after all its work.
        if (workerHeap.points.every((n) => n >= 2))
          expect(workerHeap.lastMb - workerHeap.secondMb).toBeLessThan(BOUNDS.liveHeapGrowthMb);
        for (const heap of [workerHeap, apiHeap]) expect(heap.finalMb).toBeLessThan(BOUNDS.liveHeapMb);
        if (EMAILS >= 50_000) expect(workerHeap.points.every((n) => n >= 2)).toBe(true);
        expect(workerRssGrowthMb).toBeLessThan(BOUNDS.rssLastQuarterGrowthMb);
        expect(workerRssMaxMb).toBeLessThan(BOUNDS.rssMb);
        expect(apiRssMaxMb).toBeLessThan(BOUNDS.rssMb);
      } finally {
        clearInterval(sampler);
      }
    },
    30 * 60_000,
  );
});
