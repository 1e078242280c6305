// `npm run dev`: everything a newcomer needs on one terminal. Installs npm dependencies when missing; starts a
// private Redis when none answers at REDIS_URL (redis-server from PATH, else a container when a Docker engine
// runs, else it installs redis-server where it can or stops with the command to run); starts the maildev mail
// catcher with its web view; runs the app in the `all` role with reload; prints a ready development token.
// Ctrl-C stops what it started.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  ensureDependencies,
  ensureSystemPackages,
  fail,
  onPath,
  readDotEnv,
  requireNode,
  root,
} from './preflight.mjs';

requireNode();
ensureDependencies();

const { generateToken } = await import('../src/common/token-format.ts');

const env = { ...readDotEnv(), ...process.env };
const redisUrl = new URL(env.REDIS_URL || 'redis://localhost:6379');
const smtpHost = env.SMTP_HOST || 'localhost';
const smtpPort = Number(env.SMTP_PORT || 1025);
const webPort = Number(env.MAILDEV_WEB_PORT || 1080);
const apiPort = Number(env.PORT || 3000);
const children = [];
const stateDir = join(root, '.dev');
mkdirSync(stateDir, { recursive: true });

/** Whether something accepts TCP connections at host:port within a short time. */
function answers(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(host, port, what, timeoutMs = 10_000) {
  for (let i = 0; i < timeoutMs / 100; i++) {
    if (await answers(host, port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${what} did not start on ${host}:${port}`);
}

function start(name, command, args, options = {}) {
  const child = spawn(command, args, {
    cwd: root,
    stdio: options.stdio ?? 'ignore',
    env: options.env ?? process.env,
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`\n✖ ${name} exited (${signal ?? code}); stopping.`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

let stopping = false;
/** The Redis container this script started, if it had to (removed when it stops). */
let startedContainer;
function stop(code = 0) {
  stopping = true;
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  if (startedContainer) spawnSync('docker', ['rm', '-f', startedContainer], { stdio: 'ignore' });
  setTimeout(() => process.exit(code), 1500).unref();
}
// A failed start exits through fail(): whatever was started (the mail catcher, the compilers) goes with it.
process.on('exit', () => {
  if (stopping) return;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  if (startedContainer) spawnSync('docker', ['rm', '-f', startedContainer], { stdio: 'ignore' });
});
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

// Redis: use the one at REDIS_URL if it answers; otherwise start one of our own on that port.
const redisHost = redisUrl.hostname || 'localhost';
const redisPort = Number(redisUrl.port || 6379);
let redisNote = `using the Redis at ${redisUrl.host}`;
if (!(await answers(redisHost, redisPort))) {
  const hasDocker = () => spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
  if (!onPath('redis-server') && !hasDocker()) {
    ensureSystemPackages([
      {
        command: 'redis-server',
        why: `no Redis answers at ${redisUrl.host} and no Docker engine runs; or point REDIS_URL at a running Redis`,
        debian: 'redis-server',
        brew: 'brew install redis',
      },
    ]);
  }
  if (onPath('redis-server')) {
    const dir = join(stateDir, 'redis');
    mkdirSync(dir, { recursive: true });
    start('redis-server', 'redis-server', [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
    ]);
    redisNote = `started redis-server on port ${redisPort} (data in .dev/redis)`;
  } else {
    startedContainer = 'freeface-dev-redis';
    spawnSync(
      'docker',
      ['run', '-d', '--rm', '--name', startedContainer, '-p', `${redisPort}:6379`, 'redis:7-alpine'],
      {
        stdio: 'inherit',
      },
    );
    redisNote = `started a redis:7-alpine container on port ${redisPort}`;
  }
  await waitFor(redisHost, redisPort, 'Redis');
}

// Mail catcher: maildev receives on SMTP_PORT and shows every message on its web view.
let catcherNote = `sending to the SMTP server at ${smtpHost}:${smtpPort}`;
if (!(await answers(smtpHost, smtpPort))) {
  start('maildev', join(root, 'node_modules', '.bin', 'maildev'), [
    '--smtp',
    String(smtpPort),
    '--web',
    String(webPort),
    '--ip',
    '127.0.0.1',
  ]);
  await waitFor('127.0.0.1', smtpPort, 'maildev');
  catcherNote = `mail catcher: http://localhost:${webPort}`;
}

// A development token that stays the same from one run to the next.
const tokenFile = join(stateDir, 'dev-token');
const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : generateToken('dev');
writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

const appEnv = {
  ...env,
  // The app's default is production; this stack (sample token, open dashboard, plain SMTP) is development.
  ENVIRONMENT: env.ENVIRONMENT || 'development',
  APP_ROLE: env.APP_ROLE || 'all',
  LOG_FORMAT: env.LOG_FORMAT || 'pretty',
  SMTP_HOST: smtpHost,
  SMTP_PORT: String(smtpPort),
  SERVICE_TOKEN_DEV_PRIMARY: token,
  SERVICE_TOKEN_DEV_SCOPES: 'send,read,admin',
};
// The dashboard's browser code is its own TypeScript program (src/dashboard/page/); its first build must be in
// dist/ before the app starts, since the dashboard reads its assets once at start (nest-cli.json keeps dist/).
const pageScript = join(root, 'dist', 'dashboard', 'page', 'dashboard.js');
rmSync(pageScript, { force: true });
start('the dashboard page build', process.execPath, [
  join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-p',
  join(root, 'src', 'dashboard', 'page', 'tsconfig.build.json'),
  '--watch',
  '--preserveWatchOutput',
]);
for (let i = 0; !existsSync(pageScript); i++) {
  if (i === 600) fail('the dashboard page did not build within a minute (tsc -p src/dashboard/page)');
  await new Promise((r) => setTimeout(r, 100));
}
start(
  'the app',
  process.execPath,
  [join(root, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'start', '--watch'],
  {
    stdio: 'inherit',
    env: appEnv,
  },
);
// Nest compiles the whole server first: on a slow or busy machine that takes a while.
await waitFor('127.0.0.1', apiPort, 'The app', 180_000);

console.log(`
──────────────────────────────────────────────────────────────────────────────
 FreeFace is running (role ${appEnv.APP_ROLE}; edits to src/ reload it)
   API          http://localhost:${apiPort}/api/v1      docs: http://localhost:${apiPort}/docs
   Redis        ${redisNote}
   Mail         ${catcherNote}
   Dashboard    http://localhost:${appEnv.MONITOR_PORT ?? 8011}/      ${appEnv.DASHBOARD_USER ? `sign in as ${appEnv.DASHBOARD_USER}` : '(open: no DASHBOARD_USER set)'}
   SMTP in      localhost:${appEnv.SMTP_INGRESS_PORT ?? 2525}  user "dev", password the dev token (docs/SMTP-INGRESS.md)
   Dev token    ${token}

 Send a first email:
   curl -s http://localhost:${apiPort}/api/v1/emails \\
     -H "Authorization: Bearer ${token}" -H 'Content-Type: application/json' \\
     -d '{"to":["ana@example.com"],"subject":"Hello","text":"My first FreeFace email"}'
──────────────────────────────────────────────────────────────────────────────
`);
