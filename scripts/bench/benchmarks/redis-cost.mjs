// What one email costs Redis, the product against raw Bull in the same run: the capacity model of a single
// Redis (issue 19). Per accepted and per delivered email: commands (INFO commandstats: every call, those run
// inside a Lua script or a MULTI included), network bytes in and out (INFO stats total_net_input_bytes /
// total_net_output_bytes), the change of used memory (less client buffers), and Redis CPU (INFO cpu
// used_cpu_sys + used_cpu_user of the whole redis-server process). From the CPU: the emails/s one Redis core
// sustains, accepting and delivering each email once = 1e6 / (µs per accepted + µs per delivered email).
//
// On a redis-server of its own, fresh, that nothing else uses; the phases run one after the other, each read
// between two quiet moments: INFO, CONFIG RESETSTAT, the work, a settle (SETTLE_MS: the product's counters
// and audit batches land), INFO again. N emails a phase (5,000; quick 1,000), each accept phase after
// WARM_EMAILS of the same that are not counted (scripts loaded, one-off keys made, the app's JIT started):
//   1. raw accept, single: Bull queue.add() of a job carrying the whole email (deliver.mjs's raw queue),
//      CONNECTIONS in flight, from this process; 2. raw accept, batch: addBulk(BATCH), BATCHES_IN_FLIGHT
//      in flight; 3. raw deliver: raw-pipeline.mjs (Bull process(3) → nodemailer pool of 5) drains what
//      1 and 2 queued into the SMTP sink
//   4. product accept, single: POST /api/v1/emails, one email a request, CONNECTIONS in flight (api role,
//      no worker: everything accepted waits); 5. product accept, batch: POST /api/v1/emails/batch of BATCH,
//      BATCHES_IN_FLIGHT in flight; 6. product deliver: the product's worker (WORKER_CONCURRENCY=3, pool 5)
//      drains what 4 and 5 queued into the sink
// The sink counts every email by its X-Bench-Id: a missing or doubled one fails the row. What a phase's
// process does without any email is measured the same way and subtracted, so that the figures are per
// email: for an accept phase, the app idle over a settle; for a deliver phase, a fresh worker started on the
// (by then empty) queue and left for the same settle.
// Absolute CPU figures move with the machine like every other figure here; the ratios are taken in one run.
import { performance } from 'node:perf_hooks';
import Bull from 'bull';
import { generateToken, startProduct } from '../lib/apps.mjs';
import { watchCpu } from '../lib/cpu.mjs';
import {
  ID_HEADER,
  RAW_JOB_OPTS,
  RAW_QUEUE,
  idOf,
  rawJobData,
  startProductWorker,
  startRawWorker,
} from '../lib/delivery-pipelines.mjs';
import { email } from '../lib/email-body.mjs';
import { inFlight, postTo } from '../lib/requests.mjs';
import { sleep } from '../lib/processes.mjs';
import { parseInfo, startRedisServer } from '../lib/redis-server.mjs';
import { startSmtpSink } from '../lib/smtp-sink.mjs';

const SIZES = {
  full: { emails: 5000, drainTimeoutMs: 90_000 },
  quick: { emails: 1000, drainTimeoutMs: 30_000 },
};
/** Accepted before each accept phase and not counted (delivered, and counted, with the rest). */
const WARM_EMAILS = 200;
const CONNECTIONS = 50;
const BATCH = 100;
const BATCHES_IN_FLIGHT = 4;
const WORKER_CONCURRENCY = 3;
/**
 * From the end of a phase's work to its reading: longer than the product's slowest background write after
 * the last email (its counters' 1 s flush); raw Bull writes nothing once its calls have answered, but its
 * worker completes the last job just after the sink has the email.
 */
const SETTLE_MS = { raw: 300, product: 1200 };
const PREFIX = '{bench-cost}';
const RAW_PREFIX = '{bench-cost-raw}';
/** Commands of the benchmark's own reading client, left out of the counts. */
const OWN_COMMANDS = new Set(['config|resetstat']);
/** How many commands per phase the notes name, by calls. */
const TOP_COMMANDS = 8;

const METRICS = [
  { key: 'commands', label: 'Redis commands', unit: 'commands/email' },
  { key: 'netIn', label: 'bytes into Redis', unit: 'B in/email' },
  { key: 'netOut', label: 'bytes out of Redis', unit: 'B out/email' },
  { key: 'memory', label: 'Redis memory change', unit: 'B memory/email' },
  { key: 'cpuUs', label: 'Redis CPU', unit: 'Redis CPU µs/email' },
];
const PHASES = [
  { key: 'accept-single', label: 'accept, single', raw: 'raw Bull add()', product: 'product POST /emails' },
  {
    key: 'accept-batch',
    label: `accept, batch of ${BATCH}`,
    raw: `raw Bull addBulk(${BATCH})`,
    product: 'product POST /emails/batch',
  },
  {
    key: 'deliver',
    label: 'deliver',
    raw: 'raw Bull process(3) → nodemailer',
    product: 'product worker, concurrency 3',
  },
];

const fmt = (n) => Math.round(n).toLocaleString('en-US');

export default {
  name: 'redis-cost',
  order: 35,
  title: 'Redis cost per email (capacity model): commands, bytes, memory and Redis CPU, product vs raw Bull',

  async run({ root, dist, settings, log }) {
    const size = settings.backlog >= 100_000 ? SIZES.full : SIZES.quick; // the runner's full settings
    const count = size.emails;
    const token = generateToken(dist);
    const phases = { raw: {}, product: {} };
    const redis = await startRedisServer();
    let sink;
    try {
      sink = await startSmtpSink({ root });
      log(
        `a redis-server of its own (port ${redis.port}); ${fmt(count)} emails a phase after ${WARM_EMAILS} ` +
          `not counted; raw Bull first, then the product`,
      );

      // Raw Bull: a producer in this process, then raw-pipeline.mjs drains into the sink.
      const rawIds = counter('raw');
      const queue = new Bull(RAW_QUEUE, redis.url, { prefix: RAW_PREFIX });
      try {
        await queue.isReady();
        const addOne = () => queue.add(rawJobData(rawIds.next()), RAW_JOB_OPTS);
        const addBatch = (n) =>
          queue.addBulk(
            Array.from({ length: n }, () => ({ data: rawJobData(rawIds.next()), opts: RAW_JOB_OPTS })),
          );
        const stats = statsReader(redis.client, SETTLE_MS.raw);
        // The producer is this process.
        const watch = { app: process.pid, redis: redis.pid };
        phases.raw['accept-single'] = await acceptPhase({
          stats,
          watch,
          count,
          warm: () => inFlight(WARM_EMAILS, CONNECTIONS, addOne),
          work: () => inFlight(count, CONNECTIONS, addOne),
        });
        phases.raw['accept-batch'] = await acceptPhase({
          stats,
          watch,
          idle: phases.raw['accept-single'].fixed,
          count,
          warm: () => inBatches(WARM_EMAILS, addBatch),
          work: () => inBatches(count, addBatch),
        });
        const waiting = await queue.getWaitingCount();
        if (waiting !== rawIds.count)
          throw new Error(`the raw queue holds ${waiting} jobs, not ${rawIds.count}`);
      } finally {
        await queue.close();
      }
      log(
        `raw accept: ${describe(phases.raw['accept-single'])}; batch: ${describe(phases.raw['accept-batch'])}`,
      );
      phases.raw.deliver = await deliverPhase({
        stats: statsReader(redis.client, SETTLE_MS.raw),
        sink,
        redis,
        ids: rawIds,
        timeoutMs: size.drainTimeoutMs,
        start: (name) =>
          startRawWorker({
            root,
            redisUrl: redis.url,
            prefix: RAW_PREFIX,
            sink,
            concurrency: WORKER_CONCURRENCY,
            name,
          }),
      });
      log(`raw deliver: ${describe(phases.raw.deliver)}`);

      // The product: the api role accepts, then a worker drains into the sink.
      const productIds = counter('product');
      const api = await startProduct({ root, dist, redisUrl: redis.url, prefix: PREFIX, token });
      try {
        const post = postTo(api.url, token);
        const postOne = () => post('/api/v1/emails', withId(productIds.next()));
        const postBatch = async (n) => {
          const emails = Array.from({ length: n }, () => withId(productIds.next()));
          const answer = await post('/api/v1/emails/batch', { emails });
          if (answer.ids?.length !== n) throw new Error(`a batch of ${n} answered ${JSON.stringify(answer)}`);
        };
        const stats = statsReader(redis.client, SETTLE_MS.product);
        // This process sends the requests: it is the load generator.
        const watch = { app: api.pid, redis: redis.pid, 'load generator': process.pid };
        phases.product['accept-single'] = await acceptPhase({
          stats,
          watch,
          count,
          warm: () => inFlight(WARM_EMAILS, CONNECTIONS, postOne),
          work: () => inFlight(count, CONNECTIONS, postOne),
        });
        phases.product['accept-batch'] = await acceptPhase({
          stats,
          watch,
          idle: phases.product['accept-single'].fixed,
          count,
          warm: () => inBatches(WARM_EMAILS, postBatch),
          work: () => inBatches(count, postBatch),
        });
      } finally {
        await api.stop();
      }
      const waiting = await redis.client.llen(`${PREFIX}:emails-medium:wait`);
      if (waiting !== productIds.count)
        throw new Error(`${PREFIX}:emails-medium:wait holds ${waiting}, not ${productIds.count}`);
      log(
        `product accept: ${describe(phases.product['accept-single'])}; batch: ` +
          describe(phases.product['accept-batch']),
      );
      phases.product.deliver = await deliverPhase({
        stats: statsReader(redis.client, SETTLE_MS.product),
        sink,
        redis,
        ids: productIds,
        timeoutMs: size.drainTimeoutMs,
        start: () =>
          startProductWorker({
            root,
            dist,
            redisUrl: redis.url,
            prefix: PREFIX,
            token,
            sink,
            concurrency: WORKER_CONCURRENCY,
          }),
      });
      log(`product deliver: ${describe(phases.product.deliver)}`);
    } finally {
      await sink?.stop();
      await redis.stop();
    }
    return report({ phases, count });
  },
};

/** The rows, notes and raw figures of a run. */
function report({ phases, count }) {
  const rows = [];
  for (const phase of PHASES) {
    const raw = phases.raw[phase.key];
    const product = phases.product[phase.key];
    for (const metric of METRICS) {
      const rawKey = `${phase.key}-${metric.key}-raw`;
      const rawValue = raw.perEmail[metric.key];
      const productValue = product.perEmail[metric.key];
      // A ratio of two memory changes of opposite signs (a drain frees what accepting took) means nothing.
      const comparable = rawValue > 0 && productValue > 0;
      rows.push(
        {
          key: rawKey,
          label: `${phase.label}: ${metric.label} — ${phase.raw}`,
          value: rawValue,
          unit: metric.unit,
          cpu: raw.cpu,
          ...(raw.delivery ? { delivery: raw.delivery } : {}),
        },
        {
          key: `${phase.key}-${metric.key}-product`,
          label: `${phase.label}: ${metric.label} — ${phase.product}`,
          value: productValue,
          unit: metric.unit,
          cpu: product.cpu,
          ...(product.delivery ? { delivery: product.delivery } : {}),
          ...(comparable ? { vs: { key: rawKey, label: 'raw' } } : {}),
        },
      );
    }
  }
  const perCore = (side, accept) =>
    1e6 / (phases[side][accept].perEmail.cpuUs + phases[side].deliver.perEmail.cpuUs);
  for (const accept of ['accept-single', 'accept-batch']) {
    const how = accept === 'accept-single' ? 'single' : `batches of ${BATCH}`;
    rows.push(
      {
        key: `core-${accept}-raw`,
        label: `one Redis core, accepted (${how}) + delivered — raw Bull`,
        value: perCore('raw', accept),
        unit: 'emails/s',
      },
      {
        key: `core-${accept}-product`,
        label: `one Redis core, accepted (${how}) + delivered — product`,
        value: perCore('product', accept),
        unit: 'emails/s',
        vs: { key: `core-${accept}-raw`, label: 'raw' },
      },
    );
  }

  const breakdown = (side, phase) =>
    phases[side][phase].commands
      .slice(0, TOP_COMMANDS)
      .map((c) => `${c.name} ${c.perEmail.toFixed(2)}`)
      .join(', ');
  const fixed = (side, phase) => {
    const f = phases[side][phase].fixed;
    const calls = `${fmt(f.commands)} call${f.commands === 1 ? '' : 's'}`;
    return `${calls}, ${fmt(f.netIn / 1024)} KiB in, ${(f.cpuUs / 1000).toFixed(1)} ms CPU`;
  };
  const { product } = phases;
  // Redis's own timers, from the raw producer's idle settle (nothing else was connected then).
  const idle = phases.raw['accept-single'].fixed;
  const timerUsPerS = idle.cpuUs / idle.seconds;
  const timerUsPerEmail = Math.max(
    ...['raw', 'product'].flatMap((side) =>
      PHASES.map(({ key }) => {
        const phase = phases[side][key];
        return (timerUsPerS * Math.max(0, phase.total.seconds - phase.fixed.seconds)) / phase.emails;
      }),
    ),
  );
  const notes = [
    `Each phase: ${fmt(count)} emails (~2 KB: two recipients, text and HTML; the raw job carries the same ` +
      `message), after ${WARM_EMAILS} not counted, on a redis-server of the benchmark's own that nothing else ` +
      `uses. Singles: ${CONNECTIONS} in flight; batches of ${BATCH}: ${BATCHES_IN_FLIGHT} in flight. Deliver: ` +
      `one worker (concurrency ${WORKER_CONCURRENCY}, SMTP pool 5) drains everything its side accepted ` +
      `(${fmt(product.deliver.emails)} emails) into the SMTP sink; per delivered email.`,
    `Counted from CONFIG RESETSTAT to a reading ${SETTLE_MS.product} ms after the product's last email (its ` +
      `counters and audit land within it; raw Bull: ${SETTLE_MS.raw} ms). "Redis commands": every call in ` +
      `INFO commandstats, including those a Lua script or a MULTI makes (an EVALSHA of 6 redis.call()s ` +
      `counts 7): the work Redis does, not round trips. Bytes: total_net_input_bytes and ` +
      `total_net_output_bytes. Memory: used_memory less client buffers, after − before, what the emails ` +
      `left (accept) or freed (deliver); it moves in steps as Redis's key-space tables resize, so footprint's ` +
      `steady-state figure is the careful one. Redis CPU: used_cpu_sys + used_cpu_user of the redis-server ` +
      `process (every thread).`,
    `Subtracted as not per email: the app idle over a settle (raw producer: ${fixed('raw', 'accept-single')}; ` +
      `product api: ${fixed('product', 'accept-single')}); a worker's start and its idle settle, measured ` +
      `with a fresh worker on the drained queue (raw: ${fixed('raw', 'deliver')}; product: ` +
      `${fixed('product', 'deliver')}). Redis's own timers (${(timerUsPerS / 1000).toFixed(1)} ms of CPU a ` +
      `second, idle) also run during the work and are not subtracted there: at most ` +
      `${timerUsPerEmail.toFixed(1)} µs per email in any phase.`,
    `Of Redis's CPU, the kernel's share (used_cpu_sys: reading and writing sockets; Linux splits user and ` +
      `system time by sampling, so this is rough for a short phase): ` +
      ['raw', 'product']
        .flatMap((side) =>
          PHASES.map(({ key, label }) => {
            const { cpuUs, cpuSysUs } = phases[side][key].perEmail;
            return `${side} ${label} ${Math.round((cpuSysUs / cpuUs) * 100)} %`;
          }),
        )
        .join(', ') +
      '.',
    `One Redis core: 1e6 ÷ (Redis CPU µs per accepted + per delivered email), what a Redis whose one core is ` +
      `busy with nothing else would sustain, accepting and delivering each email once; it assumes CPU, not ` +
      `memory or the network, is the limit. Measured well below saturation (see the redis column): a busier ` +
      `Redis serves more commands per socket read and wake-up, so the figure is more likely low than high.`,
    ...PHASES.flatMap((phase) => [
      `Commands per email, ${phase.label}, raw: ${breakdown('raw', phase.key)}.`,
      `Commands per email, ${phase.label}, product: ${breakdown('product', phase.key)}.`,
    ]),
  ];
  return { rows, notes, raw: { count, warmEmails: WARM_EMAILS, settleMs: SETTLE_MS, phases } };
}

/** "12.3 commands, 4,321 B in, 56.7 µs per email". */
const describe = ({ perEmail }) =>
  `${perEmail.commands.toFixed(1)} commands, ${fmt(perEmail.netIn)} B in, ${fmt(perEmail.netOut)} B out, ` +
  `${perEmail.cpuUs.toFixed(1)} µs Redis CPU per email`;

/** Numbers the emails of one side, for the sink's X-Bench-Id. */
function counter(tag) {
  let n = 0;
  return {
    tag,
    next: () => idOf(tag, n++),
    get count() {
      return n;
    },
  };
}

/** The benchmark's email with its X-Bench-Id. */
const withId = (id) => ({ ...email(), headers: { [ID_HEADER]: id } });

/** Calls `batch(n)` for `total` items in batches of BATCH, BATCHES_IN_FLIGHT at a time. */
async function inBatches(total, batch) {
  let started = 0;
  const loop = async () => {
    while (started < total) {
      const n = Math.min(BATCH, total - started);
      started += n;
      await batch(n);
    }
  };
  await Promise.all(Array.from({ length: BATCHES_IN_FLIGHT }, loop));
}

/** Readings of the Redis server's counters, from the benchmark's own client. */
function statsReader(client, settleMs) {
  const read = async () => {
    const info = parseInfo(await client.call('INFO', 'cpu', 'stats', 'memory', 'commandstats'));
    const commands = {};
    for (const [key, value] of Object.entries(info)) {
      if (!key.startsWith('cmdstat_')) continue;
      const name = key.slice('cmdstat_'.length);
      if (OWN_COMMANDS.has(name)) continue;
      const fields = Object.fromEntries(value.split(',').map((pair) => pair.split('=')));
      commands[name] = { calls: Number(fields.calls), usec: Number(fields.usec) };
    }
    return {
      cpuUs: (Number(info.used_cpu_sys) + Number(info.used_cpu_user)) * 1e6,
      cpuSysUs: Number(info.used_cpu_sys) * 1e6,
      memory: Number(info.used_memory) - Number(info.mem_clients_normal),
      netIn: Number(info.total_net_input_bytes),
      netOut: Number(info.total_net_output_bytes),
      commands,
    };
  };
  /**
   * Runs `work` between two readings (counters reset just before it, read `settleMs` after it ended) and
   * returns what Redis did meanwhile: { commands, netIn, netOut, memory, cpuUs, cpuSysUs, byCommand, seconds,
   * cpu },
   * `cpu` the use of the processes in `watch` (% of a core) while `work` ran, or what `work` returned when it
   * watched itself.
   */
  const around = async (work, watch = {}) => {
    const before = await read();
    await client.config('RESETSTAT');
    const usage = watchCpu(watch);
    const started = performance.now();
    const result = await work();
    const cpu = result?.cpu ?? usage();
    await sleep(settleMs);
    const after = await read();
    const seconds = (performance.now() - started) / 1000;
    const byCommand = after.commands;
    return {
      commands: Object.values(byCommand).reduce((sum, c) => sum + c.calls, 0),
      netIn: after.netIn,
      netOut: after.netOut,
      memory: after.memory - before.memory,
      cpuUs: after.cpuUs - before.cpuUs,
      cpuSysUs: after.cpuSysUs - before.cpuSysUs,
      byCommand,
      seconds,
      cpu,
    };
  };
  return {
    settleMs,
    around,
    /** What Redis does while the app in `watch` has nothing to do, over a settle. */
    idle: (watch) => around(async () => {}, watch),
  };
}

/**
 * Figures of `total` less `fixed`, divided by `emails`, and the commands by calls. Memory is not corrected:
 * what an idle Redis frees or takes (a key-space table's rehash ending, buffers shrinking) is noise, not a
 * fixed cost.
 */
function perEmailOf({ total, fixed, emails }) {
  const perEmail = Object.fromEntries(
    ['commands', 'netIn', 'netOut', 'cpuUs', 'cpuSysUs'].map((key) => [
      key,
      (total[key] - fixed[key]) / emails,
    ]),
  );
  perEmail.memory = total.memory / emails;
  const commands = Object.entries(total.byCommand)
    .map(([name, { calls, usec }]) => {
      const calledIdle = fixed.byCommand[name]?.calls ?? 0;
      return { name, calls, usec, perEmail: (calls - calledIdle) / emails };
    })
    .sort((a, b) => b.perEmail - a.perEmail);
  return { perEmail, commands };
}

/** Without the per-command lists, which `commands` holds once. */
const totals = ({ byCommand: _, ...figures }) => figures;

/**
 * `warm()` (not counted), a settle, then `work()` between two readings; per email, less what the app does
 * idle over the same settle (`idle`, or measured here once the warm-up's own writes have landed).
 */
async function acceptPhase({ stats, watch, idle, count, warm, work }) {
  await warm();
  await sleep(stats.settleMs);
  const fixed = idle ?? (await stats.idle(watch));
  const total = await stats.around(work, watch);
  return {
    emails: count,
    ...perEmailOf({ total, fixed, emails: count }),
    total: totals(total),
    fixed,
    cpu: cpuColumns(total.cpu),
  };
}

/**
 * Starts a worker on the filled queue and counts from just before its start to a settle after the sink's
 * last expected email; then a fresh worker on the drained queue, for the fixed cost subtracted.
 */
async function deliverPhase({ stats, sink, redis, ids, timeoutMs, start }) {
  const emails = ids.count;
  await sink.reset({ tag: ids.tag, expected: emails });
  let worker;
  let total;
  try {
    total = await stats.around(async () => {
      worker = await start(`${ids.tag}-cost`);
      const usage = watchCpu({ app: worker.pid, redis: redis.pid, 'load generator': sink.pid });
      const done = await sink.waitForAll(timeoutMs);
      if (!done.complete)
        throw new Error(`${ids.tag} deliver: ${done.distinct} of ${emails} in ${timeoutMs} ms`);
      return { cpu: usage() };
    });
  } finally {
    await worker?.stop();
  }
  const delivered = await sink.stats();
  let idleWorker;
  let fixed;
  try {
    fixed = await stats.around(async () => {
      idleWorker = await start(`${ids.tag}-idle`);
    });
  } finally {
    await idleWorker?.stop();
  }
  return {
    emails,
    ...perEmailOf({ total, fixed, emails }),
    total: totals(total),
    fixed,
    cpu: cpuColumns(total.cpu),
    delivery: { expected: emails, delivered: delivered.distinct, duplicates: delivered.duplicates },
  };
}

/** The table's CPU column: app / redis / load generator / other. */
const cpuColumns = (cpu) => ({
  app: cpu.app ?? 0,
  redis: cpu.redis,
  'load generator': cpu['load generator'] ?? 0,
  other: cpu.other,
  machineSteal: cpu.machineSteal,
});
