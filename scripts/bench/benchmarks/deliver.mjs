// Delivering queued email, end to end: Redis → worker → SMTP. Accepting is only half of the product; this
// measures the other half against the least a Node process must do for the same work, so that the
// worker's own overhead (its records, claims, events, logging context) shows as a ratio.
// 1. Throughput, local sink: N emails (5,000; quick 1,000) queued with no worker running, then ONE worker
//    drains them into a counting SMTP sink (scripts/bench/smtp-sink.mjs, a process of its own).
//    product: APP_ROLE=worker, WORKER_CONCURRENCY=3, SMTP pool of 5, filled through POST /emails/batch;
//    raw: scripts/bench/raw-pipeline.mjs, Bull queue.process(3) → nodemailer pool of 5, filled by addBulk.
//    Timed from the moment the worker answers its readiness probe to the sink's last 250; the sink counts
//    every email by its X-Bench-Id, so a missing or doubled one fails the row. Goal: ≥ 0.8 × raw.
// 2. CPU per delivered email of the worker process (utime + stime over the same window), product vs raw.
//    Goal: ≤ 1.25 × raw. Sink and Redis CPU per email are in the notes.
// 3. Scaling when the receiving server is slow (each DATA answered after 50 ms): a worker's jobs wait on the
//    network, so delivered/s should grow with WORKER_CONCURRENCY × replicas, 20/s each at best.
//    Goal: ≥ 0.9 × that. One raw run at the same setting shows what the machine allows.
// BENCH_CPU_PROF=<dir> starts every worker (product and raw) with --cpu-prof into <dir> and stops it with
// SIGTERM, so that the profile is written; the figures then include the profiler's overhead.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import Bull from 'bull';
import { generateToken, startProduct } from '../lib/apps.mjs';
import { cpuMs, watchCpu } from '../lib/cpu.mjs';
import {
  ID_HEADER,
  POOL_SIZE,
  RAW_JOB_OPTS,
  RAW_QUEUE,
  idOf,
  rawJobData,
  startProductWorker,
  startRawWorker,
} from '../lib/delivery-pipelines.mjs';
import { email } from '../lib/email-body.mjs';
import { freePort, sleep } from '../lib/processes.mjs';
import { unlinkMatching } from '../lib/redis-scan.mjs';
import { startSmtpSink } from '../lib/smtp-sink.mjs';

const SIZES = {
  full: { emails: 5000, scalingS: 5, drainTimeoutMs: 60_000 },
  quick: { emails: 1000, scalingS: 2, drainTimeoutMs: 30_000 },
};
const CONCURRENCY = 3;
const SLOW_SINK_MS = 50;
const SCALING = [
  { pipeline: 'product', concurrency: 3, replicas: 1 },
  { pipeline: 'raw', concurrency: 10, replicas: 1 },
  { pipeline: 'product', concurrency: 10, replicas: 1 },
  { pipeline: 'product', concurrency: 10, replicas: 2 },
];
const GOALS = { throughput: 0.8, cpu: 1.25, scaling: 0.9 };
/** Slow-sink rates are taken after this much of the drain (see steadyRate). */
const STEADY_AFTER_MS = 1000;
/** How long the sink keeps counting after the last expected email, for duplicates that come late. */
const SETTLE_MS = 500;
const BATCH = 100;

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const us = (ms) => `${fmt(ms * 1000)} µs`;
/** Epoch milliseconds, comparable with the sink's arrival times. */
const now = () => performance.timeOrigin + performance.now();

export default {
  name: 'deliver',
  order: 30,
  title: 'Delivering queued email: product worker vs raw Bull + nodemailer, CPU per email, slow-sink scaling',

  async run({ root, dist, redis, settings, log }) {
    const size = settings.backlog >= 100_000 ? SIZES.full : SIZES.quick; // the runner's full settings
    const profileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const sink = await startSmtpSink({ root });
    const pipelines = makePipelines({ root, dist, redis, sink, token: generateToken(dist), profileDir });
    const profiles = [];
    /** Fills a queue of its own with `count` emails, drains it with `replicas` workers, cleans up. */
    const deliver = async ({ pipeline, tag, count, concurrency, replicas = 1, delayMs = 0, webhookUrl }) => {
      const prefix = `{bench-deliver-${tag}}`;
      const fillS = await pipelines[pipeline].fill({ prefix, tag, count, webhookUrl });
      const names = Array.from({ length: replicas }, (_, i) => `${tag}-${pipeline}-worker-${i + 1}`);
      const run = await measureDrain({
        sink,
        redis,
        tag,
        expected: count,
        delayMs,
        timeoutMs: size.drainTimeoutMs,
        start: () => names.map((name) => pipelines[pipeline].start({ prefix, concurrency, name })),
        stopGraceMs: profileDir ? 20_000 : 5000, // writing a profile takes a while
      });
      await unlinkMatching(redis.client, `${prefix}:*`);
      if (profileDir) profiles.push(...names.map((name) => join(profileDir, `${name}.cpuprofile`)));
      const setup = `${pipeline}, ${concurrency} jobs × ${replicas} worker(s)${delayMs ? ', slow sink' : ''}`;
      log(
        `${setup}: ${fmt(run.distinct)} of ${fmt(count)} in ${run.seconds.toFixed(2)} s → ` +
          `${fmt(run.deliveredPerSec)}/s, ${run.duplicates} duplicates, worker CPU ${us(run.cpuMsPerEmail.worker)}/email`,
      );
      return { ...run, fillS };
    };

    const rows = [];
    const notes = [];
    const raw = { size };
    try {
      // 1 and 2: the same emails, the same sink; raw first, then the product.
      const count = size.emails;
      log(`${fmt(count)} emails, one worker with ${CONCURRENCY} jobs at once, raw then product`);
      const rawRun = await deliver({ pipeline: 'raw', tag: 'raw', count, concurrency: CONCURRENCY });
      const productRun = await deliver({
        pipeline: 'product',
        tag: 'product',
        count,
        concurrency: CONCURRENCY,
      });
      // The same, with one webhook on email.sent: the worker then also queues and sends a signed POST per email.
      const receiver = await startWebhookReceiver();
      let webhookRun;
      try {
        webhookRun = await deliver({
          pipeline: 'product',
          tag: 'webhook',
          count,
          concurrency: CONCURRENCY,
          webhookUrl: receiver.url,
        });
        webhookRun.webhooksAtDrainEnd = receiver.count();
      } finally {
        await receiver.stop();
      }
      Object.assign(raw, { raw: rawRun, product: productRun, webhook: webhookRun });
      rows.push(
        {
          key: 'raw',
          label: `raw: Bull process(${CONCURRENCY}) → nodemailer pool (${POOL_SIZE})`,
          ...figures(rawRun),
        },
        {
          key: 'product',
          label: `product worker: WORKER_CONCURRENCY=${CONCURRENCY}, pool ${POOL_SIZE}`,
          ...figures(productRun),
          vs: { key: 'raw', label: 'raw' },
          goal: GOALS.throughput,
        },
        {
          key: 'product-webhook',
          label: 'product worker, one webhook on email.sent',
          ...figures(webhookRun),
          vs: { key: 'product', label: 'product without' },
        },
        {
          key: 'raw-cpu',
          label: 'raw: worker CPU per delivered email',
          ...cpuFigures(rawRun),
        },
        {
          key: 'product-cpu',
          label: 'product worker: CPU per delivered email',
          ...cpuFigures(productRun),
          vs: { key: 'raw-cpu', label: 'raw' },
          goal: GOALS.cpu,
          goalDirection: 'max',
        },
        {
          key: 'product-webhook-cpu',
          label: 'product worker, one webhook: CPU per delivered email',
          ...cpuFigures(webhookRun),
          vs: { key: 'product-cpu', label: 'product without' },
        },
      );
      const perEmail = ({ cpuMsPerEmail: cpu }) =>
        `worker ${us(cpu.worker)}, sink ${us(cpu.sink)}, Redis ${us(cpu.redis)}`;
      notes.push(
        `Throughput rows: ${fmt(count)} emails (~2 KB: two recipients, text and HTML) queued with no worker ` +
          `running, then drained by one worker process into the SMTP sink (no TLS, no AUTH, a process of its ` +
          `own; no RATE_LIMIT_SMTP, so no token bucket). Timed from the worker's readiness probe answering to ` +
          `the sink's last 250; what was delivered before that moment (raw ${rawRun.deliveredBeforeReady}, ` +
          `product ${productRun.deliveredBeforeReady}) counts neither in the time nor in the rate. ` +
          `"per-second min–max": the whole seconds of the drain. The product was filled through its API ` +
          `(POST /api/v1/emails/batch of ${BATCH}, ${productRun.fillS.toFixed(1)} s; the API process is stopped ` +
          `before the worker starts), raw by Bull addBulk.`,
        `Webhook rows: the product again, with one webhook on email.sent to a receiver in the benchmark's ` +
          `process (answers 204): the worker records a delivery per sent email and sends it, signed, from its ` +
          `own queue (WEBHOOK_CONCURRENCY 10) while it delivers email. Webhooks received by the end of the ` +
          `email drain: ${fmt(webhookRun.webhooksAtDrainEnd)} of ${fmt(count)} (the rest were still queued; ` +
          `the drain is timed on email only). No goal: the figures show what a webhook costs.`,
        `CPU per delivered email (utime + stime from /proc over the drain): raw ${perEmail(rawRun)}; product ` +
          `${perEmail(productRun)}. The CPU column is % of a core over the drain: worker(s) / Redis / SMTP sink ` +
          `(in the load-generator place) / everything else.`,
      );

      // 3. Scaling with a slow sink
      for (const [index, { pipeline, concurrency, replicas }] of SCALING.entries()) {
        const ideal = (concurrency * replicas * 1000) / SLOW_SINK_MS;
        const setup = `WORKER_CONCURRENCY=${concurrency} × ${replicas} worker${replicas > 1 ? 's' : ''}`;
        const run = await deliver({
          pipeline,
          tag: `slow${index}`,
          count: Math.round(ideal * size.scalingS),
          concurrency,
          replicas,
          delayMs: SLOW_SINK_MS,
        });
        raw[`slow-${pipeline}-c${concurrency}-r${replicas}`] = run;
        rows.push({
          key: `slow-${pipeline}-c${concurrency}-r${replicas}`,
          label:
            pipeline === 'raw'
              ? `raw, slow sink: process(${concurrency}) × ${replicas} (reference)`
              : `product, slow sink: ${setup}`,
          ...figures(run),
          value: run.steadyPerSec ?? run.deliveredPerSec,
          vs: { value: ideal, label: `ideal ${fmt(ideal)}/s` },
          ...(pipeline === 'product' ? { goal: GOALS.scaling } : {}),
        });
      }
      notes.push(
        `Slow-sink rows: the sink answers each DATA ${SLOW_SINK_MS} ms after its end, so one job in flight ` +
          `delivers at most ${1000 / SLOW_SINK_MS}/s: ideal = WORKER_CONCURRENCY × workers × ` +
          `${1000 / SLOW_SINK_MS}/s. SMTP pool = max(${POOL_SIZE}, WORKER_CONCURRENCY) per worker, so the pool ` +
          `is not the limit. Each run is sized for ~${size.scalingS} s at the ideal rate; its rate is taken ` +
          `after the first ${STEADY_AFTER_MS / 1000} s of the drain (timed from the moment every worker is ` +
          `ready), when the pools' SMTP connections are open. Whole drains: ` +
          Object.entries(raw)
            .filter(([name]) => name.startsWith('slow-'))
            .map(([name, run]) => `${name} ${run.deliveredPerSec.toFixed(1)}/s`)
            .join(', ') +
          `. The raw row (no goal) shows what the machine allows at that setting.`,
      );
      const runs = Object.entries(raw).filter(([, run]) => run.unknown > 0);
      if (runs.length > 0) {
        notes.push(
          `⚠ The sink got messages without a known X-Bench-Id: ` +
            runs.map(([name, run]) => `${name} ${run.unknown}`).join(', '),
        );
      }
      if (profileDir) {
        const missing = profiles.filter((file) => !existsSync(file));
        notes.push(
          `BENCH_CPU_PROF: ${profiles.length - missing.length} CPU profiles in ${profileDir}` +
            (missing.length > 0 ? ` (not written: ${missing.join(', ')})` : '') +
            `; the figures above include the profiler's overhead.`,
        );
      }
      return { rows, notes, raw };
    } finally {
      await sink.stop();
    }
  },
};

/** The shared figures of a drain's row. */
function figures(run) {
  return {
    value: run.deliveredPerSec,
    unit: 'delivered/s',
    ...(run.perSecond ? { perSecond: run.perSecond } : {}),
    cpu: run.cpu,
    delivery: { expected: run.expected, delivered: run.distinct, duplicates: run.duplicates },
  };
}

/** A drain's worker CPU per delivered email as a row's figures (a short or doubled drain fails it too). */
function cpuFigures(run) {
  const { cpu, delivery } = figures(run);
  return { value: run.cpuMsPerEmail.worker * 1000, unit: 'CPU µs/email', cpu, delivery };
}

/**
 * Starts the workers (`start()` gives their start promises) on a queue filled beforehand and times the
 * drain from the moment all are ready to the sink's last expected email, or until `timeoutMs` (the row
 * then shows what is missing). CPU is read over the same window; the workers are stopped after.
 */
async function measureDrain({ sink, redis, tag, expected, delayMs, timeoutMs, start, stopGraceMs }) {
  await sink.reset({ tag, expected, delayMs });
  const started = await Promise.allSettled(start());
  const workers = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  try {
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) throw failure.reason;
    const readyAt = now();
    const cpuTimes = () => ({
      worker: sum(workers.map((w) => cpuMs(w.pid))),
      sink: cpuMs(sink.pid),
      redis: cpuMs(redis.pid),
    });
    const before = cpuTimes();
    const usage = watchCpu({
      ...Object.fromEntries(workers.map((w, i) => [`worker ${i}`, w.pid])),
      redis: redis.pid,
      'load generator': sink.pid,
    });
    const done = await sink.waitForAll(timeoutMs);
    const endAt = done.complete ? done.lastAt : now();
    const after = cpuTimes();
    const cpu = usage();
    const exited = workers.find((w) => w.child.exitCode !== null || w.child.signalCode !== null);
    if (exited) throw new Error(`${exited.name} exited during the drain:\n${exited.output()}`);
    await sleep(SETTLE_MS);
    const final = await sink.stats({ arrivals: true });
    const inWindow = final.arrivals.filter((t) => t >= readyAt && t <= endAt);
    const seconds = (endAt - readyAt) / 1000;
    const perEmail = (name) => (after[name] - before[name]) / inWindow.length;
    return {
      expected,
      distinct: final.distinct,
      duplicates: final.duplicates,
      unknown: final.unknown,
      someMissing: final.someMissing,
      complete: done.complete,
      seconds,
      deliveredBeforeReady: final.arrivals.filter((t) => t < readyAt).length,
      deliveredPerSec: inWindow.length / seconds,
      steadyPerSec: steadyRate(inWindow, readyAt, endAt),
      perSecond: perSecondRange(inWindow, readyAt, endAt),
      cpuMsPerEmail: { worker: perEmail('worker'), sink: perEmail('sink'), redis: perEmail('redis') },
      cpu: {
        app: sum(workers.map((_, i) => cpu[`worker ${i}`])),
        redis: cpu.redis,
        'load generator': cpu['load generator'],
        other: cpu.other,
        machineSteal: cpu.machineSteal,
      },
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop(stopGraceMs)));
  }
}

const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0);

/**
 * The rate after the drain's first second: what the workers sustain once their SMTP connections are open
 * (a pool opens them on first use, each with its greeting and EHLO), which is what concurrency scales.
 */
function steadyRate(times, from, to) {
  const steadyFrom = from + STEADY_AFTER_MS;
  if (to - steadyFrom < 1000) return undefined;
  return (times.filter((t) => t >= steadyFrom).length / (to - steadyFrom)) * 1000;
}

/** Min and max of the emails counted in each whole second from `from`; none under two whole seconds. */
function perSecondRange(times, from, to) {
  const whole = Math.floor((to - from) / 1000);
  if (whole < 2) return undefined;
  const counts = new Array(whole).fill(0);
  for (const t of times) {
    const second = Math.floor((t - from) / 1000);
    if (second < whole) counts[second] += 1;
  }
  return { min: Math.min(...counts), max: Math.max(...counts) };
}

/** How each pipeline is filled and how one of its workers is started. */
function makePipelines({ root, dist, redis, sink, token, profileDir }) {
  const nodeArgs = (name) =>
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  return {
    raw: {
      fill: ({ prefix, tag, count }) => fillRaw({ redisUrl: redis.url, prefix, tag, count }),
      start: ({ prefix, concurrency, name }) =>
        startRawWorker({
          root,
          redisUrl: redis.url,
          prefix,
          sink,
          concurrency,
          name,
          nodeArgs: nodeArgs(name),
        }),
    },
    product: {
      fill: ({ prefix, tag, count, webhookUrl }) =>
        fillProduct({ root, dist, redis, prefix, token, tag, count, webhookUrl }),
      start: ({ prefix, concurrency, name }) =>
        startProductWorker({
          root,
          dist,
          redisUrl: redis.url,
          prefix,
          token,
          sink,
          concurrency,
          nodeArgs: nodeArgs(name),
        }),
    },
  };
}

/**
 * Queues `count` emails through the product's API (POST /api/v1/emails/batch, a few batches in flight),
 * with an API process started for it and stopped after, so that only the worker runs during the drain.
 * Returns the seconds the API took.
 */
async function fillProduct({ root, dist, redis, prefix, token, tag, count, webhookUrl }) {
  const api = await startProduct({ root, dist, redisUrl: redis.url, prefix, token });
  try {
    if (webhookUrl) {
      const created = await fetch(`${api.url}/api/v1/webhooks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: webhookUrl, events: ['email.sent'] }),
      });
      if (created.status !== 201) throw new Error(`POST /webhooks answered ${created.status}`);
    }
    const body = email();
    const started = performance.now();
    let next = 0;
    const sendBatches = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const emails = [];
        for (let n = from; n < next; n++) emails.push({ ...body, headers: { [ID_HEADER]: idOf(tag, n) } });
        const response = await fetch(`${api.url}/api/v1/emails/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ emails }),
        });
        const answer = await response.json();
        if (response.status !== 202 || answer.ids?.length !== emails.length) {
          throw new Error(
            `POST /emails/batch answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, sendBatches));
    const seconds = (performance.now() - started) / 1000;
    const waiting = await redis.client.llen(`${prefix}:emails-medium:wait`);
    if (waiting !== count) throw new Error(`${prefix}:emails-medium:wait holds ${waiting}, not ${count}`);
    return seconds;
  } finally {
    await api.stop();
  }
}

/** Queues `count` emails for the raw pipeline: the whole message in the job, as a raw queue would. */
async function fillRaw({ redisUrl, prefix, tag, count }) {
  const queue = new Bull(RAW_QUEUE, redisUrl, { prefix });
  try {
    const started = performance.now();
    for (let done = 0; done < count; done += 1000) {
      const jobs = [];
      for (let n = done; n < Math.min(count, done + 1000); n++) {
        jobs.push({ data: rawJobData(idOf(tag, n)), opts: RAW_JOB_OPTS });
      }
      await queue.addBulk(jobs);
    }
    const waiting = await queue.getWaitingCount();
    if (waiting !== count) throw new Error(`the raw queue holds ${waiting} waiting jobs, not ${count}`);
    return (performance.now() - started) / 1000;
  } finally {
    await queue.close();
  }
}

/** A webhook receiver in this process: counts the POSTs, answers 204. */
async function startWebhookReceiver() {
  const { createServer } = await import('node:http');
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count++;
      response.writeHead(204).end();
    });
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    count: () => count,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
