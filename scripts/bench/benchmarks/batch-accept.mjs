// "A batch of emails is accepted nearly as fast as a bare app can queue it": POST /api/v1/emails/batch with
// 100 of the ~2 KB emails per request, in emails per second, against the raw floor of that work: a bare
// Nest + fastify app that validates the same body with class-validator (a nested DTO array) and makes ONE
// Bull addBulk of 100 jobs. Batches exist for throughput, so the figure that matters is emails/s; the
// product does more per email (record, index entries, audit trail) and the goal bounds what that may cost.
// The product runs with the API role only: nothing drains, so every accepted email stays in Redis until the
// phase's keys are deleted.
import { BENCH_SERVICE, generateToken, startBaseline, startProduct } from '../lib/apps.mjs';
import { email } from '../lib/email-body.mjs';
import { measure, prime, probe } from '../lib/load.mjs';
import { sleep } from '../lib/processes.mjs';
import { unlinkMatching } from '../lib/redis-scan.mjs';

const PREFIX = '{bench-batch}';
const BASELINE_PREFIX = '{baseline-batch}';
const BATCH = 100;
const GOAL = 0.7;
/**
 * Fewer connections than the single-email benchmarks: each request carries 100 emails (~200 KB), so 10
 * in flight already keep either app saturated, and more would only queue inside it and inflate p99.
 */
const CONNECTIONS = 10;
/** A batch request runs the whole accept path 100 times over: a few seconds bring it past JIT warm-up. */
const MAX_PRIME_S = 5;

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export default {
  name: 'batch-accept',
  order: 20,
  title: `Accepting batches of ${BATCH} emails (POST /api/v1/emails/batch): baseline vs product`,

  async run({ root, dist, redis, settings, log }) {
    const { durationS, warmupS } = settings;
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
      label: `baseline: Nest + class-validator (nested) + 1 addBulk(${BATCH})`,
      ...figures(raw.baseline),
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
      vs: { key: 'baseline', label: 'baseline' },
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
    const notes = [
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
