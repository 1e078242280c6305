// The docker-compose topology as plain processes, for CI (issue 7): a private redis-server, MailDev (SMTP and
// its web API), one api, two workers, the monitor and the SMTP ingress from the built app, configured from
// .env.example with ports of their own. Waits until every process is ready, then runs against it, in order:
//   scripts/quick-test.sh, scripts/smoke-test.sh (all 7 levels), the three client examples of docs/examples/
//   and the SMTP example (send_smtp.py)
// and finally stops everything with SIGTERM (also on failure or Ctrl-C) and checks each app process exits 0.
//
//   npm run build && node scripts/ci/topology.mjs
//   FREEFACE_DIST=.dist-mine node scripts/ci/topology.mjs     # a build of one's own instead of dist/
//
// Every port is a free one, so it runs beside a development stack. Logs: a temporary folder, printed (the
// tail of each log) when something fails. Exit 0 only when every step passed.
/* global AbortSignal */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, process.env.FREEFACE_DIST || 'dist');
const STARTUP_TIMEOUT_MS = 30_000;
/** The whole run, a safety net for CI: nothing here should come close. */
const OVERALL_TIMEOUT_MS = 180_000;
const started = Date.now();

if (!existsSync(join(dist, 'main.js'))) {
  console.error(`✖ ${join(dist, 'main.js')} does not exist: run npm run build first (or set FREEFACE_DIST).`);
  process.exit(2);
}
const { generateToken } = createRequire(import.meta.url)(join(dist, 'common', 'token-format.js'));

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** .env.example as a map, without the empty values (empty means "unset" to the app). */
function envExample() {
  const values = {};
  for (const line of readFileSync(join(root, '.env.example'), 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match && match[2].trim() !== '') values[match[1]] = match[2].trim();
  }
  return values;
}

const logs = mkdtempSync(join(tmpdir(), 'freeface-topology-'));
const children = [];

/** Starts a process with its output in logs/<name>.log. */
function start(name, command, args, env) {
  const out = openSync(join(logs, `${name}.log`), 'a');
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', out, out] });
  const entry = {
    name,
    child,
    exit: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal))),
  };
  children.push(entry);
  return entry;
}

/** Stops every process (apps first, Redis last) with SIGTERM, then SIGKILL after 20 s; their exit codes. */
async function stopAll() {
  const results = {};
  for (const group of [
    children.filter((c) => !['redis', 'maildev'].includes(c.name)),
    children.filter((c) => ['redis', 'maildev'].includes(c.name)),
  ]) {
    for (const { child } of group)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(
      group.map(async ({ name, child, exit }) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        results[name] = await exit;
        clearTimeout(timer);
      }),
    );
  }
  return results;
}

function tailOfLogs(lines = 25) {
  for (const { name } of children) {
    const path = join(logs, `${name}.log`);
    if (!existsSync(path)) continue;
    const tail = readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines);
    console.log(`\n--- last lines of ${name}.log ---\n${tail.join('\n')}`);
  }
}

async function waitUntil(what, check, timeoutMs = STARTUP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exited = children.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
    if (exited)
      throw new Error(
        `${exited.name} exited (${exited.child.exitCode ?? exited.child.signalCode}) while waiting for ${what}`,
      );
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
/** Whether Redis answers PING on 127.0.0.1:port. */
function redisAnswers(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
const answers = (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(2000) }).then((r) => r.ok);

/** Runs a command with the terminal's output; resolves to { code, output }. */
function run(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on('data', keep(process.stdout));
    child.stderr.on('data', keep(process.stderr));
    child.once('exit', (code) => resolve({ code, output }));
    child.once('error', (error) => resolve({ code: 127, output: String(error) }));
  });
}

const steps = [];
function heading(text) {
  console.log(`\n\x1b[1m── ${text}\x1b[0m  (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the topology`);
    void stopAll().then(() => process.exit(130));
  });
}
const overall = setTimeout(() => {
  console.error(`\n✖ the topology run took over ${OVERALL_TIMEOUT_MS / 1000}s; stopping it`);
  tailOfLogs();
  void stopAll().then(() => process.exit(1));
}, OVERALL_TIMEOUT_MS);
overall.unref();

let exitCode = 0;
try {
  const [
    redisPort,
    smtpPort,
    webPort,
    apiPort,
    worker1Port,
    worker2Port,
    monitorPort,
    ingressPort,
    ingressHealthPort,
  ] = await Promise.all(Array.from({ length: 9 }, freePort));
  const smokeToken = generateToken('dev');
  const examplesToken = generateToken('dev');
  const dashboardPassword = randomBytes(12).toString('hex');
  const example = envExample();
  const adminToken = example.SERVICE_TOKEN_EXAMPLE_PRIMARY;
  const appEnv = {
    PATH: process.env.PATH ?? '',
    ...example,
    // .env.example leaves ENVIRONMENT to the app's default (production); this stack uses its sample token and
    // plain SMTP on the ingress, which only development allows.
    ENVIRONMENT: 'development',
    LOG_LEVEL: 'info',
    PORT: String(apiPort),
    MONITOR_PORT: String(monitorPort),
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    DASHBOARD_USER: 'ops',
    DASHBOARD_PASSWORD: dashboardPassword,
    // The smoke test's service, and the examples' one: limited to 1 call a second, so that the examples meet a
    // 429 with Retry-After and show their retry (the topology empties the bucket before each one).
    SERVICE_TOKEN_SMOKE_PRIMARY: smokeToken,
    SERVICE_TOKEN_SMOKE_SCOPES: 'send,read',
    SERVICE_TOKEN_EXAMPLES_PRIMARY: examplesToken,
    SERVICE_TOKEN_EXAMPLES_SCOPES: 'send,read',
    SERVICE_TOKEN_EXAMPLES_RATE_LIMIT: '1/s',
  };

  heading(`Starting the topology (logs in ${logs})`);
  start(
    'redis',
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      PATH: appEnv.PATH,
    },
  );
  const maildev = join(root, 'node_modules', 'maildev', 'dist', 'bin', 'maildev.js');
  start(
    'maildev',
    process.execPath,
    [
      existsSync(maildev) ? maildev : join(root, 'node_modules', '.bin', 'maildev'),
      '--smtp',
      String(smtpPort),
      '--web',
      String(webPort),
      '--ip',
      '127.0.0.1',
      '--web-ip',
      '127.0.0.1',
      '--mail-directory',
      join(logs, 'mail'),
      '--silent',
    ],
    { PATH: appEnv.PATH },
  );
  await waitUntil('redis-server', () => redisAnswers(redisPort));
  const mailcatcherUrl = `http://127.0.0.1:${webPort}`;
  await waitUntil('MailDev', () => answers(`${mailcatcherUrl}/api/healthz`));

  const apps = [
    ['api', 'api', apiPort, {}],
    ['worker-1', 'worker', worker1Port, { WORKER_HEALTH_PORT: String(worker1Port) }],
    ['worker-2', 'worker', worker2Port, { WORKER_HEALTH_PORT: String(worker2Port) }],
    ['monitor', 'monitor', monitorPort, {}],
    [
      'smtp',
      'smtp',
      ingressHealthPort,
      { SMTP_INGRESS_PORT: String(ingressPort), SMTP_HEALTH_PORT: String(ingressHealthPort) },
    ],
  ];
  for (const [name, role, , env] of apps)
    start(name, process.execPath, [join(dist, 'main.js')], { ...appEnv, ...env, APP_ROLE: role });
  await Promise.all(
    apps.map(([name, , port]) =>
      waitUntil(`${name} /health/ready`, () => answers(`http://127.0.0.1:${port}/health/ready`)),
    ),
  );
  console.log(
    `ready: api :${apiPort}, workers :${worker1Port} :${worker2Port}, monitor :${monitorPort}, ` +
      `smtp ingress :${ingressPort}, redis :${redisPort}, ` +
      `maildev smtp :${smtpPort} web :${webPort}`,
  );

  const baseUrl = `http://127.0.0.1:${apiPort}`;
  const step = async (name, command, args, env, check = () => undefined) => {
    heading(name);
    const { code, output } = await run(command, args, env);
    const problem = code === 0 ? check(output) : `exit code ${code}`;
    steps.push({ name, ok: !problem, problem });
    if (problem) console.log(`✖ ${name}: ${problem}`);
    return output;
  };

  await step('scripts/quick-test.sh', 'bash', ['scripts/quick-test.sh'], {
    BASE_URL: baseUrl,
    TOKEN: smokeToken,
  });
  await step(
    'scripts/smoke-test.sh',
    'bash',
    ['scripts/smoke-test.sh'],
    {
      BASE_URL: baseUrl,
      TOKEN: smokeToken,
      ADMIN_TOKEN: adminToken,
      WORKER_URL: `http://127.0.0.1:${worker1Port},http://127.0.0.1:${worker2Port}`,
      MONITOR_URL: `http://127.0.0.1:${monitorPort}`,
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: dashboardPassword,
      MAILCATCHER_URL: mailcatcherUrl,
      SMOKE_CLEANUP_MAILCATCHER: 'true',
    },
    (output) =>
      /^smoke: \d+ passed, 0 failed, 0 skipped$/m.test(output)
        ? undefined
        : 'not every check passed without a skip',
  );

  /** Spends the examples service's rate-limit bucket, so that the example's first POST gets a 429. */
  const emptyBucket = async () => {
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${baseUrl}/api/v1/emails?limit=1`, {
        headers: { authorization: `Bearer ${examplesToken}` },
      });
      if (response.status === 429) return;
    }
  };
  const exampleEnv = { FREEFACE_URL: baseUrl, FREEFACE_TOKEN: examplesToken, FREEFACE_TIMEOUT: '20' };
  for (const [name, command, file] of [
    ['Python example', 'python3', 'docs/examples/send_email.py'],
    ['Node.js example', process.execPath, 'docs/examples/send-email.mjs'],
    ['cURL example', 'bash', 'docs/examples/send-email.sh'],
  ]) {
    await emptyBucket();
    const output = await step(`${name} (${file})`, command, [file], exampleEnv, (out) =>
      /^sent through /m.test(out) ? undefined : 'it did not report the email sent',
    );
    // Not asserted: on a slow machine the bucket may refill before the example's first call.
    if (/retrying once in \d+s \(Retry-After\)/.test(output))
      console.log('(it met the 429 and retried after Retry-After)');
  }
  // The SMTP ingress, from a client that speaks only SMTP (the bucket refills first: one message is one call).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await step(
    'Python SMTP example (docs/examples/send_smtp.py)',
    'python3',
    ['docs/examples/send_smtp.py'],
    {
      FREEFACE_SMTP: `127.0.0.1:${ingressPort}`,
      FREEFACE_SERVICE: 'examples',
      FREEFACE_TOKEN: examplesToken,
      FREEFACE_URL: baseUrl,
      FREEFACE_TIMEOUT: '20',
    },
    (out) => (/^sent: [0-9a-f-]{36}$/m.test(out) ? undefined : 'it did not report the email sent'),
  );
} catch (error) {
  console.error(`\n✖ ${error instanceof Error ? error.message : String(error)}`);
  steps.push({ name: 'start the topology', ok: false, problem: String(error) });
}

heading('Stopping the topology (SIGTERM)');
const exits = interrupted ? {} : await stopAll();
for (const [name, code] of Object.entries(exits)) {
  if (!['redis', 'maildev'].includes(name) && code !== 0)
    steps.push({ name: `${name} stops cleanly`, ok: false, problem: `exit ${code}` });
}
console.log(
  Object.entries(exits)
    .map(([name, code]) => `${name}: ${code}`)
    .join(', '),
);

const failed = steps.filter((s) => !s.ok);
if (failed.length > 0) {
  tailOfLogs();
  exitCode = 1;
} else {
  rmSync(logs, { recursive: true, force: true });
}
for (const s of steps) console.log(`${s.ok ? 'PASS' : 'FAIL'}  ${s.name}${s.ok ? '' : `: ${s.problem}`}`);
console.log(
  `\ntopology: ${steps.length - failed.length} passed, ${failed.length} failed  (${((Date.now() - started) / 1000).toFixed(1)}s)`,
);
process.exit(exitCode);
