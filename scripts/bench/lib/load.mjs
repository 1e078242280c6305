// HTTP load with autocannon, each run in a fresh child process (load-worker.mjs): a timed measurement after
// a warm-up that is not counted, or a fixed number of requests. Any non-2xx answer, socket error or timeout
// fails the measurement: a rate made of errors proves nothing.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { watchCpu } from './cpu.mjs';
import { adopt } from './processes.mjs';

const WORKER = join(import.meta.dirname, 'load-worker.mjs');

/**
 * Runs one load in a child process. `atStart`, if given, is awaited once the warm-up is over and just
 * before the measured part begins, with the child's pid; its result (a function) is called as it ends.
 */
async function run({ request, warmupS, durationS, amount }, atStart) {
  const child = adopt(spawn(process.execPath, [WORKER], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const reply = async () => {
    const { value, done } = await replies.next();
    if (done) throw new Error(`the load generator exited early (${await exited})`);
    return JSON.parse(value);
  };
  try {
    child.stdin.write(`${JSON.stringify({ request, warmupS, durationS, amount })}\n`);
    const { warmup } = await reply();
    const atEnd = atStart ? await atStart(child.pid) : undefined;
    child.stdin.write('go\n');
    const { result } = await reply();
    return { warmup, result, atEnd: atEnd ? await atEnd() : undefined };
  } finally {
    child.stdin.end();
    if (child.exitCode === null) child.kill();
    await exited;
  }
}

const requestFor = ({ url, headers, body, connections }) => ({
  url,
  headers: { 'content-type': 'application/json', ...headers },
  body,
  connections,
});

function summarize(label, result) {
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) {
    const codes = Object.entries(result.statusCodeStats)
      .map(([code, { count }]) => `${code}×${count}`)
      .join(', ');
    throw new Error(
      `${label}: ${failed} failed requests (status ${codes}; ${result.errors} errors, ${result.timeouts} timeouts)`,
    );
  }
  return {
    requests: result['2xx'],
    durationS: result.duration,
    reqPerSec: result['2xx'] / result.duration,
    /** autocannon's once-a-second samples: how steady the rate was within the measurement. */
    perSecond: { min: result.requests.min, max: result.requests.max, stddev: result.requests.stddev },
    latencyMs: {
      mean: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
  };
}

/**
 * `connections` clients POST `body` to `url` for `warmupS` (discarded), then for `durationS` (measured),
 * watching the CPU use of the processes in `watch` ({ name: pid }) and of the load generator during the
 * measured part. `observe`, if given, is called as the measured part starts and returns a function called
 * as it ends: what that returns is kept as `observed`.
 * Returns { requests, durationS, reqPerSec, perSecond: { min, max, stddev }, latencyMs: { mean, p50, p90,
 * p99, max }, cpu, observed }.
 */
export async function measure({
  label,
  url,
  headers,
  body,
  connections,
  durationS,
  warmupS,
  watch = {},
  observe,
}) {
  const { warmup, result, atEnd } = await run(
    { request: requestFor({ url, headers, body, connections }), warmupS, durationS },
    async (loadPid) => {
      const finishObserving = observe ? await observe() : undefined;
      const cpu = watchCpu({ ...watch, 'load generator': loadPid });
      return async () => ({ cpu: cpu(), observed: finishObserving ? await finishObserving() : undefined });
    },
  );
  if (warmup) summarize(`${label} (warm-up)`, warmup);
  return { ...summarize(label, result), ...atEnd };
}

/** Load that is not measured: brings a freshly started app past its JIT warm-up. */
export async function prime({ label, url, headers, body, connections, durationS }) {
  const { result } = await run({ request: requestFor({ url, headers, body, connections }), durationS });
  summarize(`${label} (priming)`, result);
}

/** Sends exactly `amount` requests over `connections` connections, as fast as they are answered. */
export async function send({ label, url, headers, body, connections, amount }) {
  const { result } = await run({ request: requestFor({ url, headers, body, connections }), amount });
  return summarize(label, result);
}

/** One request, checked by hand before loading an endpoint: a wrong token or body shows its real answer. */
export async function probe({ url, headers, body, expectStatus }) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  if (response.status !== expectStatus) {
    throw new Error(`POST ${url} answered ${response.status}, not ${expectStatus}: ${text.slice(0, 500)}`);
  }
  return text;
}
