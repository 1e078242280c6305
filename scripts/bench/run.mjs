// npm run bench [-- --quick] [-- --only NAME] [-- --strict] [-- --no-build]
// Builds the app if src/ changed since the last build, starts a private redis-server on a free port, runs
// each benchmark module in BENCHMARKS against it, prints a table per benchmark and writes everything to
// bench-results/latest.json. Every process it starts is stopped before it exits.
//   --quick   short measurements and a smaller backlog (CI smoke: well under 60 s)
//   --only    run only the benchmark of that name
//   --strict  exit 1 when a goal is missed (a failed measurement always exits 1)
//   --no-build  measure the dist/ there is, even if src/ is newer
//
// Every module in benchmarks/ is a benchmark, run in the order of its `order`: it exports default
// { name, title, order, run(ctx) } and resolves to { rows, notes, raw }; see benchmarks/accept-under-backlog.mjs
// and lib/report.mjs for the row shape. ctx.dist is the build under test (FREEFACE_DIST, default dist/).
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ensureDependencies, fail, onPath, requireNode, root, run } from '../preflight.mjs';

const SETTINGS = {
  full: {
    connections: 50,
    durationS: 10,
    warmupS: 2,
    primeS: 8,
    backlog: 100_000,
    apiFillBudgetS: 30,
    abPairs: 4,
    abWindowS: 4,
  },
  quick: {
    connections: 50,
    durationS: 2,
    warmupS: 1,
    primeS: 2,
    backlog: 20_000,
    apiFillBudgetS: 10,
    abPairs: 2,
    abWindowS: 2,
  },
};

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    strict: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});
const mode = options.quick ? 'quick' : 'full';
const settings = SETTINGS[mode];

/** The build under test: dist/ unless FREEFACE_DIST names another (a helper's own build, a clean export…). */
const dist = resolve(root, process.env.FREEFACE_DIST ?? 'dist');
const customDist = dist !== join(root, 'dist');

requireNode();
if (!onPath('redis-server')) {
  fail(
    'redis-server is not on PATH: the benchmark starts a private one.\n  Debian/Ubuntu: apt-get install -y redis-server',
  );
}
ensureDependencies();
if (!options['no-build'] && !customDist) buildIfStale();
else if (!statOrNull(join(dist, 'main.js'))) fail(`there is no ${join(dist, 'main.js')}: build it first`);

const { startRedisServer } = await import('./lib/redis-server.mjs');
const { CONTENDED_OTHER_CPU, isContended, machine, table, versions, withRatios } =
  await import('./lib/report.mjs');

const startedAt = new Date();
const redis = await startRedisServer();
const stopAll = async () => redis.stop();
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));

const report = {
  mode,
  startedAt: startedAt.toISOString(),
  command: `npm run bench${options.quick ? ' -- --quick' : ''}`,
  settings,
  machine: machine(redis.version),
  versions: versions(root, [
    '@nestjs/core',
    '@nestjs/platform-fastify',
    'fastify',
    'class-validator',
    'bull',
    'ioredis',
    'autocannon',
  ]),
  benchmarks: [],
};
const m = report.machine;
console.log(
  `FreeFace benchmarks (${mode}) — ${m.cpuModel} × ${m.cpuCount} CPUs, ${m.memoryGiB} GiB, ${m.os}; ` +
    `Node ${m.node}; Redis ${m.redis} (private, port ${redis.port})`,
);
console.log(
  `Load: autocannon ${report.versions.autocannon}, ${settings.connections} connections, ` +
    `each app primed ${settings.primeS} s after start; ${settings.warmupS} s warm-up then ${settings.durationS} s ` +
    `per measurement; ~2 KB JSON email body\n`,
);

let failed = false;
let ran = 0;
const benchmarks = await Promise.all(
  readdirSync(join(import.meta.dirname, 'benchmarks'))
    .filter((file) => file.endsWith('.mjs'))
    .map(async (file) => (await import(`./benchmarks/${file}`)).default),
);
benchmarks.sort((a, b) => a.order - b.order);
try {
  for (const benchmark of benchmarks) {
    if (options.only && benchmark.name !== options.only) continue;
    ran += 1;
    console.log(`› ${benchmark.name}: ${benchmark.title}`);
    const began = performance.now();
    try {
      const result = await benchmark.run({
        root,
        dist,
        redis,
        settings,
        log: (message) => console.log(`  · ${message}`),
      });
      const rows = withRatios(result.rows).map((row) => ({ ...row, contended: isContended(row) }));
      const seconds = (performance.now() - began) / 1000;
      report.benchmarks.push({ name: benchmark.name, title: benchmark.title, seconds, ...result, rows });
      console.log(`\n${table(rows)}\n`);
      for (const note of result.notes) console.log(`  - ${note}`);
      if (rows.some((row) => row.contended)) {
        console.log(
          `  - ⚠ Other processes used more than ${CONTENDED_OTHER_CPU}% of a core during that measurement: ` +
            `the machine was shared, so its figures (and the ratios built on them) are not reliable.`,
        );
      }
      console.log('');
    } catch (error) {
      failed = true;
      report.benchmarks.push({
        name: benchmark.name,
        title: benchmark.title,
        error: String(error?.stack ?? error),
      });
      console.error(`✖ ${benchmark.name} failed: ${error?.stack ?? error}\n`);
    }
  }
} finally {
  await stopAll();
}
if (ran === 0) fail(`no benchmark is named ${options.only}`);

report.finishedAt = new Date().toISOString();
report.seconds = (Date.now() - startedAt.getTime()) / 1000;
const missed = report.benchmarks.flatMap((b) => (b.rows ?? []).filter((r) => r.goalMet === false));
const contended = report.benchmarks.flatMap((b) => (b.rows ?? []).filter((r) => r.contended));
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
const verdict = failed
  ? 'A benchmark failed (see above)'
  : missed.length === 0
    ? 'Every goal met'
    : `Goal missed: ${missed.map((r) => r.label).join('; ')}`;
const caveat =
  contended.length > 0 ? ` (${contended.length} measurements on a shared machine, marked ⚠)` : '';
console.log(`${verdict}${caveat}. Took ${report.seconds.toFixed(0)} s; results in bench-results/latest.json`);
if (failed || (options.strict && missed.length > 0)) process.exitCode = 1;
// A benchmark that failed half-way may leave a client reconnecting to a Redis that is gone: end anyway.
if (failed) process.exit();

/** `npm run build` when dist/main.js is missing or older than anything in src/ or the build's configuration. */
function buildIfStale() {
  const built = statOrNull(join(root, 'dist', 'main.js'));
  const inputs = [
    ...listFiles(join(root, 'src')),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'].map((f) => join(root, f)),
  ];
  const newest = Math.max(...inputs.map((f) => statOrNull(f)?.mtimeMs ?? 0));
  if (built && built.mtimeMs >= newest) return;
  console.log('› Building (npm run build)…');
  run('npm', ['run', '--silent', 'build']);
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function statOrNull(path) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
