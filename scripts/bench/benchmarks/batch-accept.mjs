// "A batch of emails is accepted nearly as fast as Bull can queue it": POST /api/v1/emails/batch with 100 of
// the ~2 KB emails per request, in emails per second, against the raw floor of that work: Bull's addBulk of
// 100 jobs carrying the same email, called by as many loops as the load has connections, in a process of
// its own (raw-addbulk.mjs; the "raw addBulk(100)", and the goal's reference). For context, a bare
// Nest + fastify app that validates the same body with class-validator (a nested DTO array) and makes ONE
// addBulk of 100: what HTTP and validation alone cost. Batches exist for throughput, so the figure that
// matters is emails/s; the product does more per email (record, index entries, audit trail) and the goal
// bounds what that may cost.
// The product runs with the API role only: nothing drains, so every accepted email stays in Redis until the
// phase's keys are deleted.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH_SERVICE, generateToken, startBaseline, startProduct } from '../lib/apps.mjs';
import { watchCpu } from '../lib/cpu.mjs';
import { email } from '../lib/email-body.mjs';
import { measure, prime, probe } from '../lib/load.mjs';
import { adopt, sleep } from '../lib/processes.mjs';
import { unlinkMatching } from '../lib/redis-scan.mjs';

const PREFIX = '{bench-batch}';
const BASELINE_PREFIX = '{baseline-batch}';
const RAW_PREFIX = '{raw-batch}';
const BATCH = 100;
const GOAL = 0.7;
/**
 * Fewer connections than the single-email benchmarks: each request carries 100 emails (~200 KB), so 10
 * in flight already keep either app saturated, and more would only queue inside it and inflate p99.
 */
const CONNECTIONS = 10;
/** A batch request runs the whole accept path 100 times over: a few seconds bring it past JIT warm-up. */
const MAX_PRIME_S = 3;
const MAX_MEASURE_S = 6;

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export default {
  name: 'batch-accept',
  order: 20,
  title: `Accepting batches of ${BATCH} emails (POST /api/v1/emails/batch): baseline vs product`,

  async run({ root, dist, redis, settings, log }) {
    // A batch measurement counts 100 emails per request: 6 s hold as many emails as a minute of single POSTs.
    const durationS = Math.min(settings.durationS, MAX_MEASURE_S);
    const warmupS = Math.min(settings.warmupS, 1);
    const primeS = Math.min(settings.primeS, MAX_PRIME_S);
    const load = { connections: CONNECTIONS, durationS, warmupS };
    const body = JSON.stringify({ emails: Array.from({ length: BATCH }, () => email()) });
    const watch = (app) => ({ app: app.pid, redis: redis.pid });
    const observe = () => redis.watchCommands();
    const rows = [];
    const raw = { batch: BATCH, bodyBytes: Buffer.byteLength(body), connections: CONNECTIONS, primeS };

    const phase = async ({ label, app, url, headers, prefix, waitList }) => {
      const answer = JSON.parse(await probe({ url, headers, body, expectStatus: 202 }));
      if (answer.ids?.length !== BATCH)
        throw new Error(`${label}: the probe batch answered ${JSON.stringify(answer)}`);
      await prime({ label, url, headers, body, connections: CONNECTIONS, durationS: primeS });
      await sleep(500); // requests still in flight when the load stopped land first
      await unlinkMatching(redis.client, `${prefix}:*`);
      log(`${label}: primed ${primeS} s, keys deleted; ${warmupS} s warm-up + ${durationS} s measured`);
      const result = await measure({ label, url, headers, body, ...load, watch: watch(app), observe });
      await sleep(500);
      const waiting = await redis.client.llen(waitList);
      await unlinkMatching(redis.client, `${prefix}:*`);
      return { ...result, waitingAfter: waiting };
    };

    const baselineApp = await startBaseline({ root, redisUrl: redis.url, prefix: BASELINE_PREFIX });
    try {
      raw.baseline = await phase({
        label: 'baseline',
        app: baselineApp,
        url: `${baselineApp.url}/api/v1/emails/batch`,
        headers: {},
        prefix: BASELINE_PREFIX,
        waitList: `${BASELINE_PREFIX}:baseline-emails:wait`,
      });
    } finally {
      await baselineApp.stop();
    }
    rows.push({
      key: 'baseline',
      label: `bare app: Nest + class-validator (nested) + 1 addBulk(${BATCH})`,
      ...figures(raw.baseline),
    });

    log(`raw: ${CONNECTIONS} loops of addBulk(${BATCH}), ${warmupS} s warm-up + ${durationS} s measured`);
    raw.addBulk = await rawAddBulk({ root, redis, warmupS, durationS });
    await unlinkMatching(redis.client, `${RAW_PREFIX}:*`);
    rows.unshift({
      key: 'raw',
      label: `raw: Bull addBulk(${BATCH}) × ${CONNECTIONS} loops, no HTTP`,
      value: raw.addBulk.emails / raw.addBulk.seconds,
      unit: 'emails/s',
      perSecond: raw.addBulk.perSecond,
      p99Ms: raw.addBulk.p99Ms,
      cpu: raw.addBulk.cpu,
    });

    const token = generateToken(dist);
    const product = await startProduct({ root, dist, redisUrl: redis.url, prefix: PREFIX, token });
    try {
      raw.product = await phase({
        label: 'product',
        app: product,
        url: `${product.url}/api/v1/emails/batch`,
        headers: { authorization: `Bearer ${token}` },
        prefix: PREFIX,
        waitList: `${PREFIX}:emails-medium:wait`,
      });
    } finally {
      await product.stop();
    }
    rows.push({
      key: 'product',
      label: `product: batch of ${BATCH} (api role, service ${BENCH_SERVICE})`,
      ...figures(raw.product),
      vs: { key: 'raw', label: 'raw' },
      goal: GOAL,
    });

    const perEmail = (result) =>
      Object.entries(result.observed ?? {})
        .filter(([name]) => !name.startsWith('config'))
        .map(([name, { calls }]) => [name, calls / (result.requests * BATCH)])
        .filter(([, calls]) => calls >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([name, calls]) => `${name} ${calls.toFixed(calls >= 1 ? 1 : 2)}`)
        .join(', ');
    const productRate = raw.product.reqPerSec * BATCH;
    const notes = [
      `Product ÷ bare app: ${(productRate / (raw.baseline.reqPerSec * BATCH)).toFixed(2)} (emails/s); bare app ÷ ` +
        `raw: ${((raw.baseline.reqPerSec * BATCH) / rows[0].value).toFixed(2)}. The raw row's p99 is per ` +
        `addBulk call, its CPU column the raw process's.`,
      `Each request is one batch of ${BATCH} emails (${fmt(raw.bodyBytes / 1024)} KiB of JSON), ${CONNECTIONS} ` +
        `connections; "value" and "per-second min–max" are emails/s (requests × ${BATCH}); p99 is per request ` +
        `(the whole batch). "Redis µs/accept" is redis-server's CPU time per email over the measured part ` +
        `(from /proc, so it includes the product's background audit and counter writes; INFO commandstats ` +
        `cannot give it: commands inside MULTI are counted both on their own and in EXEC's time).`,
      `Each app was primed for ${primeS} s with the same load right after it started (JIT warm-up), its keys ` +
        `deleted, then measured for ${durationS} s after a ${warmupS} s warm-up. Emails waiting after the ` +
        `measured part: baseline ${fmt(raw.baseline.waitingAfter)}, product ${fmt(raw.product.waitingAfter)} ` +
        `(nothing drains); keys deleted after each phase.`,
      `Redis commands per email (INFO commandstats over the measured part, scripts' inner calls included; ` +
        `batches still in flight at the window's edges add a little): ` +
        `baseline ${perEmail(raw.baseline)}; product ${perEmail(raw.product)}.`,
    ];
    return { rows, notes, raw };
  },
};

/** Runs raw-addbulk.mjs against the run's Redis and reads its result; CPU is watched after its warm-up. */
async function rawAddBulk({ root, redis, warmupS, durationS }) {
  const child = adopt(
    spawn(process.execPath, [join(root, 'scripts', 'bench', 'raw-addbulk.mjs')], {
      env: {
        ...process.env,
        REDIS_URL: redis.url,
        QUEUE_PREFIX: RAW_PREFIX,
        CONNECTIONS: String(CONNECTIONS),
        BATCH: String(BATCH),
        WARMUP_S: String(warmupS),
        DURATION_S: String(durationS),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`raw-addbulk.mjs exited early (${await exited})`);
    return JSON.parse(value);
  };
  await next(); // warm
  // The raw process is its own load: its whole CPU is in the app column.
  const cpu = watchCpu({ app: child.pid, redis: redis.pid });
  const result = await next();
  const usage = cpu();
  await exited;
  return { ...result, cpu: { ...usage, 'load generator': 0 } };
}

const figures = (result) => {
  const emails = result.requests * BATCH;
  return {
    value: result.reqPerSec * BATCH,
    unit: 'emails/s',
    perSecond: { min: result.perSecond.min * BATCH, max: result.perSecond.max * BATCH },
    p99Ms: result.latencyMs.p99,
    requests: result.requests,
    emails,
    cpu: result.cpu,
    redisUsPerAccept: (((result.cpu?.redis ?? NaN) / 100) * result.durationS * 1e6) / emails,
  };
};
