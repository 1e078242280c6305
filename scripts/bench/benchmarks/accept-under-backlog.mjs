// Accepting one email: the product against the raw stack, and with 100,000 emails waiting against none.
// 1-2. baseline (a bare Nest + class-validator + one queue.add() app) and the product (role api, no worker:
//    nothing drains) with empty queues, under the same load, in alternating windows;
// 3. the same product once N low-priority emails wait in `emails-low` (filled through the API when that is
//    fast enough here, otherwise straight into Redis in the product's format), measured in interleaved
//    windows with the queue empty and deep (see `interleaved`), low-priority emails into the deep queue.
import { performance } from 'node:perf_hooks';
import { BENCH_SERVICE, EMAIL_FROM, generateToken, startBaseline, startProduct } from '../lib/apps.mjs';
import { email, emailBody } from '../lib/email-body.mjs';
import { measure, prime, probe, send } from '../lib/load.mjs';
import { sleep } from '../lib/processes.mjs';
import { compareWithApi, fillDirect } from '../lib/product-format.mjs';
import { unlinkMatching } from '../lib/redis-scan.mjs';

const PREFIX = '{freeface}';
const BASELINE_PREFIX = '{baseline}';
/** Accepting with the backlog waiting ÷ with none. */
const GOAL = 0.9;
/** The product against the bare app: at least 0.7 × its rate, at most 1.5 × its p99. */
const SINGLE_ACCEPT_GOAL = { reqRatio: 0.7, p99Ratio: 1.5 };

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export default {
  name: 'accept-under-backlog',
  order: 10,
  title: 'Accepting an email: baseline, product with 0 waiting, product with a deep backlog',

  async run({ root, dist, redis, settings, log }) {
    const { connections, primeS, backlog, apiFillBudgetS, abPairs, abWindowS } = settings;
    const windowWarmupS = 1;
    const body = emailBody();
    const rows = [];
    const notes = [];
    const raw = {};
    const waiting = async () => {
      const [high, medium, low] = await Promise.all(
        ['high', 'medium', 'low'].map((p) => redis.client.llen(`${PREFIX}:emails-${p}:wait`)),
      );
      return { high, medium, low };
    };
    const watch = (app) => ({ app: app.pid, redis: redis.pid });
    const observe = () => redis.watchCommands();
    const depths = (before, after) =>
      ['high', 'medium', 'low']
        .filter((p) => before[p] || after[p])
        .map((p) => `${p} ${fmt(before[p])} → ${fmt(after[p])}`)
        .join(', ');

    // 1-2. Baseline and product, nothing waiting, in alternating windows: both apps are started and primed,
    //      then measured in ABBA pairs, so that the machine's drift (slow spells of a few seconds, ±15 % from
    //      one minute to the next here) falls on both alike; the ratio is the median of the pairs' ratios.
    const token = generateToken(dist);
    const headers = { authorization: `Bearer ${token}` };
    const baselineApp = await startBaseline({ root, redisUrl: redis.url, prefix: BASELINE_PREFIX });
    let product;
    let productRate;
    try {
      product = await startProduct({ root, dist, redisUrl: redis.url, prefix: PREFIX, token });
    } catch (error) {
      await baselineApp.stop();
      throw error;
    }
    try {
      const url = `${product.url}/api/v1/emails`;
      const apps = {
        baseline: { app: baselineApp, url: `${baselineApp.url}/api/v1/emails`, headers: {} },
        product: { app: product, url, headers },
      };
      try {
        for (const [name, target] of Object.entries(apps)) {
          await probe({ url: target.url, headers: target.headers, body, expectStatus: 202 });
          log(`${name}: primed for ${primeS} s`);
          await prime({ label: name, ...target, body, connections, durationS: primeS });
        }
        await sleep(500); // requests still in flight when the load stopped land first
        await unlinkMatching(redis.client, `${PREFIX}:*`);
        await unlinkMatching(redis.client, `${BASELINE_PREFIX}:*`);
        const before0 = await waiting();
        log(
          `${abPairs} ABBA pairs of ${abWindowS} s windows (${windowWarmupS} s warm-up each), baseline and ` +
            `product, ${fmt(before0.medium)} waiting`,
        );
        const windows = { baseline: [], product: [] };
        const pairRatios = [];
        for (let pair = 0; pair < abPairs; pair++) {
          const order = pair % 2 === 0 ? ['baseline', 'product'] : ['product', 'baseline'];
          const result = {};
          for (const name of order) {
            const target = apps[name];
            result[name] = await measure({
              label: `${name} window ${pair + 1}`,
              url: target.url,
              headers: target.headers,
              body,
              connections,
              durationS: abWindowS,
              warmupS: windowWarmupS,
              watch: watch(target.app),
              observe,
            });
            windows[name].push(result[name]);
          }
          pairRatios.push({
            req: result.product.reqPerSec / result.baseline.reqPerSec,
            p99: result.product.latencyMs.p99 / result.baseline.latencyMs.p99,
          });
        }
        const after0 = await waiting();
        raw.baseline = windows.baseline;
        raw.productAtZero = { windows: windows.product, waitingBefore: before0, waitingAfter: after0 };
        raw.singleAcceptPairs = pairRatios;
        productRate = mean(windows.product.map((w) => w.reqPerSec));
        rows.push(
          {
            key: 'baseline',
            label: `baseline: Nest + class-validator + 1 queue.add() (${abPairs} windows)`,
            ...windowFigures(windows.baseline),
          },
          {
            key: 'product-0',
            label: `product, 0 waiting (${abPairs} windows)`,
            ...windowFigures(windows.product),
            vs: { key: 'baseline', label: 'baseline, median of pairs' },
            reqRatio: median(pairRatios.map((r) => r.req)),
            p99Ratio: median(pairRatios.map((r) => r.p99)),
            goal: SINGLE_ACCEPT_GOAL.reqRatio,
            p99Goal: SINGLE_ACCEPT_GOAL.p99Ratio,
          },
        );
        notes.push(
          `Baseline and product: both primed with ${primeS} s of the same load right after they started (JIT ` +
            `warm-up), the product's keys then deleted (so it starts with empty queues), then measured in ` +
            `${abPairs} ABBA pairs of ${abWindowS} s windows, each after a ${windowWarmupS} s warm-up. req/s is the ` +
            `mean of an app's windows, "per-second min–max" the range of its windows' rates, p99 the median of ` +
            `their p99s; the ratios are the medians of the pairs' ratios (req/s: ` +
            `${pairRatios.map((r) => r.req.toFixed(2)).join(', ')}; p99: ` +
            `${pairRatios.map((r) => r.p99.toFixed(2)).join(', ')}).`,
          `"0 waiting" is the depth when the first window starts; nothing drains, so the queue the load adds to ` +
            `grows over the windows (waiting: ${depths(before0, after0)}).`,
        );
      } finally {
        await baselineApp.stop();
        await unlinkMatching(redis.client, `${BASELINE_PREFIX}:*`);
      }

      // 3. The backlog
      const lowBody = emailBody('low');
      const apiId = JSON.parse(await probe({ url, headers, body: lowBody, expectStatus: 202 })).id;
      const toAdd = backlog - (await redis.client.llen(`${PREFIX}:emails-low:wait`));
      const apiEstimateS = toAdd / productRate;
      const fill = { target: backlog, added: toAdd, apiEstimateS };
      const started = performance.now();
      if (apiEstimateS <= apiFillBudgetS) {
        log(
          `filling the backlog through the API: ${fmt(toAdd)} POSTs (~${apiEstimateS.toFixed(0)} s at 0-backlog rate)`,
        );
        await send({ label: 'backlog fill', url, headers, body: lowBody, connections, amount: toAdd });
        fill.route = 'api';
        fill.description = `through the product's API (POST /api/v1/emails, priority low, ${connections} connections)`;
      } else {
        log(
          `filling the backlog directly in Redis: ${fmt(toAdd)} emails (the API would take ~${fmt(apiEstimateS)} s ` +
            `at ${fmt(productRate)} req/s, over the ${apiFillBudgetS} s budget)`,
        );
        await fillDirect({
          dist,
          redisUrl: redis.url,
          prefix: PREFIX,
          priority: 'low',
          count: toAdd,
          email: email(),
          service: BENCH_SERVICE,
          from: EMAIL_FROM,
        });
        fill.route = 'direct';
        fill.description =
          `directly in Redis in the product's format (EmailStore.create's record hash + a Bull job with ` +
          `jobId = email id, queue.addBulk in chunks of 1,000), because the API would have needed ` +
          `~${fmt(apiEstimateS)} s at the measured ${fmt(productRate)} req/s`;
        const [directId] = await redis.client.lrange(`${PREFIX}:emails-low:wait`, 0, 0);
        fill.differencesFromApi = await compareWithApi(redis.client, {
          prefix: PREFIX,
          priority: 'low',
          apiId,
          directId,
        });
        if (fill.differencesFromApi.length > 0) {
          throw new Error(
            `direct fill differs from the API's own records:\n  ${fill.differencesFromApi.join('\n  ')}`,
          );
        }
      }
      fill.seconds = (performance.now() - started) / 1000;
      fill.depth = await redis.client.llen(`${PREFIX}:emails-low:wait`);
      fill.redisMemory = await redis.memoryUsed();
      raw.backlogFill = fill;
      if (fill.depth !== backlog) {
        throw new Error(
          `LLEN ${PREFIX}:emails-low:wait is ${fmt(fill.depth)} after the fill, not ${fmt(backlog)}`,
        );
      }
      log(
        `LLEN ${PREFIX}:emails-low:wait = ${fmt(fill.depth)} (${fill.seconds.toFixed(1)} s, Redis ${fill.redisMemory})`,
      );
      notes.push(
        `Backlog: ${fmt(backlog)} low-priority emails filled ${fill.description}, in ${fill.seconds.toFixed(1)} s ` +
          `(${fmt(toAdd / fill.seconds)}/s)` +
          (fill.route === 'direct' ? '; a direct record and job match an API-made one field by field' : '') +
          `. Verified before measuring: LLEN ${PREFIX}:emails-low:wait = ${fmt(fill.depth)}; Redis used memory ` +
          `${fill.redisMemory}.`,
      );

      // 4. Interleaved check: the same process and the same Redis data, only the depth of the queue
      //    toggled between windows (RENAME of the wait list is O(1)); ABBA order cancels a linear drift.
      const ab = await interleaved({
        redis,
        url,
        headers,
        body: lowBody,
        connections,
        settings,
        watch,
        product,
      });
      raw.interleaved = ab;
      rows.push(...ab.rows);
      notes.push(ab.note);

      const perCall = Object.entries(raw.productAtZero.windows.at(-1)?.observed ?? {})
        .filter(([name]) => name === 'evalsha' || name === 'eval')
        .map(
          ([name, stats]) => `${name.toUpperCase()} ${stats.usecPerCall.toFixed(1)} µs × ${fmt(stats.calls)}`,
        );
      if (perCall.length > 0)
        notes.push(`Redis time per script call at 0 waiting (INFO commandstats): ${perCall.join(', ')}.`);
    } finally {
      await product.stop();
    }
    return { rows, notes, raw };
  },
};

/**
 * Alternates windows with the low queue empty and with the whole backlog in it, sending low-priority emails
 * into it, and compares each pair. The backlog's wait list is parked under another key while the queue is
 * "empty" (the records and job hashes stay, so Redis holds the same data either way); what an empty window
 * adds is dropped when the backlog is put back.
 */
async function interleaved({ redis, url, headers, body, connections, settings, watch, product }) {
  const { abPairs: pairs, abWindowS: windowS, backlog } = settings;
  const wait = `${PREFIX}:emails-low:wait`;
  const parked = `${PREFIX}:bench:parked-backlog`;
  const windows = [];
  const ratios = [];
  await redis.client.rename(wait, parked);
  for (let pair = 0; pair < pairs; pair++) {
    const result = {};
    for (const state of pair % 2 === 0 ? ['empty', 'deep'] : ['deep', 'empty']) {
      if (state === 'deep') await redis.client.rename(parked, wait);
      else await redis.client.del(wait);
      const depth = await redis.client.llen(wait);
      const measured = await measure({
        label: `interleaved ${state}`,
        url,
        headers,
        body,
        connections,
        durationS: windowS,
        warmupS: 0,
        watch: watch(product),
      });
      if (state === 'deep') await redis.client.rename(wait, parked);
      result[state] = measured;
      windows.push({ pair, state, depth, ...measured });
    }
    ratios.push(result.deep.reqPerSec / result.empty.reqPerSec);
  }
  await redis.client.rename(parked, wait);
  const of = (state) => windows.filter((w) => w.state === state);
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  const row = (state) => ({
    reqPerSec: mean(of(state).map((w) => w.reqPerSec)),
    perSecond: {
      min: Math.min(...of(state).map((w) => w.reqPerSec)),
      max: Math.max(...of(state).map((w) => w.reqPerSec)),
    },
    p99Ms: median(of(state).map((w) => w.latencyMs.p99)),
    requests: of(state).reduce((n, w) => n + w.requests, 0),
    cpu: Object.fromEntries(
      Object.keys(of(state)[0].cpu).map((name) => [
        name,
        Math.round(mean(of(state).map((w) => w.cpu[name]))),
      ]),
    ),
  });
  const empty = row('empty');
  const deep = row('deep');
  const deepDepths = of('deep').map((w) => w.depth);
  return {
    windows,
    ratios,
    rows: [
      { key: 'interleaved-empty', label: `interleaved: ${pairs} windows at 0 (low)`, ...empty },
      {
        key: 'interleaved-deep',
        label: `interleaved: ${pairs} windows at ≥ ${fmt(backlog)} (low)`,
        ...deep,
        vs: { key: 'interleaved-empty', label: 'at 0, median of pairs' },
        reqRatio: median(ratios),
        p99Ratio: deep.p99Ms / empty.p99Ms,
        goal: GOAL,
      },
    ],
    note:
      `Interleaved rows: ${pairs} pairs of ${windowS} s windows (no warm-up; the process is warm) in ABBA order, ` +
      `low-priority emails into the low queue, which holds 0 or the backlog (${deepDepths.map(fmt).join(', ')} ` +
      `at the start of each deep window). Same process, same Redis data: only the depth differs. req/s is the ` +
      `mean of the windows and "per-second min–max" their range; p99 is the median of the windows' p99; the ` +
      `ratio is the median of the pairs' ratios (${ratios.map((r) => r.toFixed(2)).join(', ')}).`,
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** Commands the accept path sends at top level; EXEC's and EVALSHA's time include the commands inside. */
const TOP_LEVEL = ['multi', 'exec', 'evalsha', 'eval'];

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

/** An app's figures over its windows: mean rate, range of the windows' rates, median p99, mean CPU. */
const windowFigures = (windows) => {
  const each = windows.map(figures);
  const cpu = Object.fromEntries(
    Object.keys(each[0]?.cpu ?? {}).map((name) => [
      name,
      Math.round(mean(each.map((f) => f.cpu[name] ?? 0))),
    ]),
  );
  return {
    reqPerSec: mean(each.map((f) => f.reqPerSec)),
    perSecond: {
      min: Math.min(...each.map((f) => f.reqPerSec)),
      max: Math.max(...each.map((f) => f.reqPerSec)),
    },
    p99Ms: median(each.map((f) => f.p99Ms)),
    requests: each.reduce((sum, f) => sum + f.requests, 0),
    cpu,
    redisUsPerAccept: mean(each.map((f) => f.redisUsPerAccept)),
  };
};

const figures = (result) => {
  const commands = result.observed ?? {};
  const redisUsec = TOP_LEVEL.reduce((sum, name) => sum + (commands[name]?.usec ?? 0), 0);
  return {
    reqPerSec: result.reqPerSec,
    perSecond: result.perSecond,
    p99Ms: result.latencyMs.p99,
    requests: result.requests,
    cpu: result.cpu,
    redisUsPerAccept: redisUsec / result.requests,
    redisUsPerCall: Object.fromEntries(
      TOP_LEVEL.filter((name) => commands[name]).map((name) => [name, commands[name].usecPerCall]),
    ),
  };
};
