// Child processes of a benchmark run: free ports, start-and-wait, and a registry that kills every child
// still running when the runner exits (normally, on an error or on Ctrl-C), so a run leaves nothing behind.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const running = new Set();
process.on('exit', () => running.forEach((child) => child.kill('SIGKILL')));

/** Adds a child started elsewhere to the processes killed when the runner exits. */
export function adopt(child) {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns true; throws after `timeoutMs`. */
export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Starts `command args` with exactly `env` (plus PATH) and waits until `ready()` resolves true. The child's
 * output is kept (last 64 KiB) to explain a failure. Returns { child, pid, output(), stop() }.
 */
export async function startProcess({ name, command, args, env, cwd, ready, timeoutMs = 30_000 }) {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const keep = (chunk) => (output = (output + chunk.toString('utf8')).slice(-65_536));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal);
    }),
  );
  let exitedWith;
  void exited.then((code) => (exitedWith = code));
  const handle = {
    name,
    child,
    pid: child.pid,
    output: () => output,
    /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitUntil(
      async () => {
        if (exitedWith !== undefined)
          throw new Error(`${name} exited (${exitedWith}) during start:\n${output}`);
        return ready();
      },
      timeoutMs,
      `${name} to start`,
    );
  } catch (error) {
    await handle.stop(1000);
    throw error;
  }
  return handle;
}

/** True when GET url answers 2xx. */
export const answersOk = (url) =>
  fetch(url).then(
    (response) => response.ok,
    () => false,
  );
