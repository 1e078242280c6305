// What REDIS_WAIT_REPLICAS costs the single accept (issue 19): the product's POST /api/v1/emails with
// REDIS_WAIT_REPLICAS=0 and =1, in the same run, against one primary with one replica.
// 1. a private primary and a replica of it (`--replicaof`, no persistence), waited for until in sync;
// 2. two products (role api, no worker: nothing drains), one with REDIS_WAIT_REPLICAS=0, one with =1, both on
//    that primary, each primed, then measured in ABBA pairs of windows under the same load as
//    accept-under-backlog; the ratios (with ÷ without) are the medians of the pairs';
// 3. the WAITs Redis ran per accepted email (INFO commandstats), which shows the barrier's coalescing.
// The runner's own Redis is not used: it has no replica.
import { generateToken, startProduct } from '../lib/apps.mjs';
import { emailBody } from '../lib/email-body.mjs';
import { measure, prime, probe } from '../lib/load.mjs';
import { sleep, waitUntil } from '../lib/processes.mjs';
import { unlinkMatching } from '../lib/redis-scan.mjs';
import { parseInfo, startRedisServer } from '../lib/redis-server.mjs';

const VARIANTS = [
  { key: 'without', replicas: 0, prefix: '{bench-wait0}' },
  { key: 'with', replicas: 1, prefix: '{bench-wait1}' },
];
/** Commands the accept path sends at top level; their time includes the commands inside them. */
const TOP_LEVEL = ['multi', 'exec', 'evalsha', 'eval', 'wait'];

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

export default {
  name: 'accept-wait-replicas',
  order: 15,
  title: 'Accepting an email with REDIS_WAIT_REPLICAS=1 against 0 (one primary, one replica)',

  async run({ root, dist, settings, log }) {
    const quick = settings.backlog < 100_000;
    const { connections, abPairs: pairs } = settings;
    // --quick keeps the whole benchmark near 15 s: 1 s of priming, 2 s windows with no warm-up of their own.
    const primeS = quick ? 1 : settings.primeS;
    const windowS = settings.abWindowS;
    const windowWarmupS = quick ? 0 : 1;
    const body = emailBody();
    const token = generateToken(dist);
    const headers = { authorization: `Bearer ${token}` };
    const notes = [];
    const raw = {};

    // 1. Primary and replica. The primary streams its first sync straight away (no diskless delay).
    const primary = await startRedisServer({ args: ['--repl-diskless-sync-delay', '0'] });
    const stops = [() => primary.stop()];
    const apps = {};
    try {
      const replica = await startRedisServer({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
      stops.unshift(() => replica.stop());
      await waitUntil(
        async () => {
          const info = parseInfo(await primary.client.info('replication'));
          return (
            info.connected_slaves === '1' &&
            /state=online/.test(info.slave0 ?? '') &&
            (await primary.client.wait(1, 100)) === 1
          );
        },
        15_000,
        'the replica to be in sync (connected_slaves:1, WAIT 1 100 = 1)',
      );
      const replication = parseInfo(await primary.client.info('replication'));
      raw.replication = { primary: replication.slave0, replicaPort: replica.port };
      log(`primary :${primary.port} (Redis ${primary.version}), replica :${replica.port} in sync`);

      // 2. Both products, started and primed one after the other.
      for (const variant of VARIANTS) {
        const app = await startProduct({
          root,
          dist,
          redisUrl: primary.url,
          prefix: variant.prefix,
          token,
          env: { REDIS_WAIT_REPLICAS: String(variant.replicas) },
        });
        stops.unshift(() => app.stop());
        const url = `${app.url}/api/v1/emails`;
        apps[variant.key] = { ...variant, app, url };
        await probe({ url, headers, body, expectStatus: 202 });
        log(`REDIS_WAIT_REPLICAS=${variant.replicas}: primed for ${primeS} s`);
        await prime({
          label: `wait ${variant.replicas}`,
          url,
          headers,
          body,
          connections,
          durationS: primeS,
        });
      }
      await sleep(300); // requests still in flight when the load stopped land first
      for (const variant of VARIANTS) await unlinkMatching(primary.client, `${variant.prefix}:*`);
      await primary.client.wait(1, 1000);

      log(
        `${pairs} ABBA pairs of ${windowS} s windows` +
          (windowWarmupS ? ` (${windowWarmupS} s warm-up each)` : '') +
          `, REDIS_WAIT_REPLICAS=0 and =1`,
      );
      const windows = { without: [], with: [] };
      const pairRatios = [];
      for (let pair = 0; pair < pairs; pair++) {
        const order = pair % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
        const result = {};
        for (const key of order) {
          const target = apps[key];
          const measured = await measure({
            label: `REDIS_WAIT_REPLICAS=${target.replicas} window ${pair + 1}`,
            url: target.url,
            headers,
            body,
            connections,
            durationS: windowS,
            warmupS: windowWarmupS,
            watch: { app: target.app.pid, redis: primary.pid, replica: replica.pid },
            observe: () => primary.watchCommands(),
          });
          result[key] = figures(measured);
          windows[key].push(result[key]);
        }
        pairRatios.push({
          req: result.with.reqPerSec / result.without.reqPerSec,
          p50: result.with.p50Ms / result.without.p50Ms,
          p99: result.with.p99Ms / result.without.p99Ms,
        });
      }
      raw.windows = windows;
      raw.pairRatios = pairRatios;

      const without = summary(windows.without);
      const withWait = summary(windows.with);
      const ratios = {
        req: median(pairRatios.map((r) => r.req)),
        p50: median(pairRatios.map((r) => r.p50)),
        p99: median(pairRatios.map((r) => r.p99)),
      };
      raw.summary = { without, with: withWait, ratios };
      if (without.waits > 0) throw new Error(`REDIS_WAIT_REPLICAS=0 ran ${without.waits} WAITs`);
      const rows = [
        {
          key: 'without',
          label: `REDIS_WAIT_REPLICAS=0 (${pairs} windows; 0 WAIT/email)`,
          ...without.row,
        },
        {
          key: 'with',
          label: `REDIS_WAIT_REPLICAS=1 (${pairs} windows; ${withWait.waitsPerAccept.toFixed(3)} WAIT/email)`,
          ...withWait.row,
          vs: { key: 'without', label: 'without, median of pairs' },
          reqRatio: ratios.req,
          p99Ratio: ratios.p99,
        },
      ];
      const list = (name) => pairRatios.map((r) => r[name].toFixed(2)).join(', ');
      notes.push(
        `With ÷ without (medians of ${pairs} ABBA pairs): req/s ${ratios.req.toFixed(2)} (${list('req')}), ` +
          `p50 ${ratios.p50.toFixed(2)} (${list('p50')}), p99 ${ratios.p99.toFixed(2)} (${list('p99')}).`,
        `WAITs per accepted email with REDIS_WAIT_REPLICAS=1: ${fmt(withWait.waits)} WAIT calls for ` +
          `${fmt(withWait.row.requests)} accepted = ${withWait.waitsPerAccept.toFixed(3)} (one WAIT per ` +
          `${(1 / withWait.waitsPerAccept).toFixed(1)} emails: the ${connections} connections' requests share ` +
          `them), ${withWait.waitUsPerCall.toFixed(1)} µs of Redis time per WAIT call (commandstats).`,
        `Both apps (api role, no worker) on one primary with one replica on loopback; req/s is the mean of a ` +
          `variant's windows, p50 and p99 the medians of its windows'. Replica CPU (% of a core, mean of the ` +
          `windows): ${without.replicaCpu} without, ${withWait.replicaCpu} with.`,
      );
      return { rows, notes, raw };
    } finally {
      for (const stop of stops) await stop();
    }
  },
};

/** One window's figures, from measure()'s result and the primary's command statistics. */
function figures(result) {
  const commands = result.observed ?? {};
  const redisUsec = TOP_LEVEL.reduce((sum, name) => sum + (commands[name]?.usec ?? 0), 0);
  return {
    reqPerSec: result.reqPerSec,
    perSecond: result.perSecond,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    requests: result.requests,
    cpu: result.cpu,
    waits: commands.wait?.calls ?? 0,
    waitUsec: commands.wait?.usec ?? 0,
    redisUsPerAccept: redisUsec / result.requests,
    commands,
  };
}

/** A variant's figures over its windows: mean rate, range of the rates, median p50 and p99, mean CPU. */
function summary(windows) {
  const waits = windows.reduce((n, w) => n + w.waits, 0);
  const requests = windows.reduce((n, w) => n + w.requests, 0);
  const cpu = Object.fromEntries(
    ['app', 'redis', 'load generator', 'other', 'machineBusy', 'machineSteal']
      .filter((name) => windows[0].cpu?.[name] !== undefined)
      .map((name) => [name, Math.round(mean(windows.map((w) => w.cpu[name] ?? 0)))]),
  );
  return {
    waits,
    waitsPerAccept: waits / requests,
    waitUsPerCall: waits ? windows.reduce((n, w) => n + w.waitUsec, 0) / waits : 0,
    replicaCpu: Math.round(mean(windows.map((w) => w.cpu?.replica ?? 0))),
    row: {
      reqPerSec: mean(windows.map((w) => w.reqPerSec)),
      perSecond: {
        min: Math.min(...windows.map((w) => w.reqPerSec)),
        max: Math.max(...windows.map((w) => w.reqPerSec)),
      },
      p50Ms: median(windows.map((w) => w.p50Ms)),
      p99Ms: median(windows.map((w) => w.p99Ms)),
      requests,
      cpu,
      redisUsPerAccept: mean(windows.map((w) => w.redisUsPerAccept)),
    },
  };
}
