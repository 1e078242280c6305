// Breaks the running Compose stack on purpose and checks that no accepted email is lost (scripts/ci/docker-e2e.sh
// runs it after the smoke test; docs/DEPLOYMENT.md has the results):
//   1. a worker killed mid-send, by `docker kill -s KILL` and by a crash (SIGKILL to its process, as the OOM
//      killer does); restart: unless-stopped brings the crashed one back
//   2. Redis stopped for 20 s under load: 503s, then recovery
//   3. Redis restarted with a queue waiting and no worker running: the AOF volume keeps the queue
//   4. --scale worker=4: all four deliver
//   5. docker stop of a worker with a send in flight: exit 0 within the grace period, and the send completes
// Every wait is bounded and ends on something observed (a message in MailDev, a container's state, a log line).
// Lines starting with FIGURE are collected by the CI script. Environment: TOKEN (send, read, admin),
// COMPOSE_PROJECT; BASE_URL and MAILCATCHER_URL default to the ports docker-compose.yml publishes.
/* global AbortSignal */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const token = process.env.TOKEN;
const project = process.env.COMPOSE_PROJECT ?? 'freeface-ci';
const api = process.env.BASE_URL ?? 'http://localhost:3000';
const maildev = process.env.MAILCATCHER_URL ?? 'http://localhost:1080';
const composeArgs = ['-p', project, '-f', 'docker-compose.yml', '-f', 'test/docker/compose.ci.yml'];
const image = 'freeface-email-service:dev';
const graceSeconds = 35; // stop_grace_period of the app services in docker-compose.yml

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (message) => console.log(`  ${message}`);
const figure = (name, value) => console.log(`FIGURE ${name}: ${value}`);

function run(command, args, timeoutMs = 120_000) {
  return execFileSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}
const docker = (...args) => run('docker', args);
const compose = (...args) => run('docker-compose', [...composeArgs, ...args], 180_000);
const containers = (service) => compose('ps', '-q', service).split('\n').filter(Boolean);
const inspect = (id, format) => docker('inspect', '-f', format, id);
const health = (id) =>
  inspect(id, '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}');
const removeContainers = (...names) => {
  for (const name of names) {
    try {
      docker('rm', '-f', name);
    } catch {
      // not there: nothing to remove
    }
  }
};
const ipOf = (id) => inspect(id, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');

/** Polls `check` until it returns something truthy; fails with `what` after `timeoutMs`. */
async function waitFor(what, check, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}`);
    await sleep(intervalMs);
  }
}

async function http(method, url, body, timeoutMs = 5000) {
  try {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  } catch (error) {
    return {
      status: error.name === 'TimeoutError' ? 'timeout' : 'no answer',
      json: undefined,
      text: String(error),
    };
  }
}

const sendOne = (tag) =>
  http('POST', `${api}/api/v1/emails`, {
    to: [`${tag}@example.com`],
    subject: `break-it ${tag}`,
    text: `Sent by test/docker/break-it.mjs (${tag}).`,
    tags: ['break-it', tag],
  });

/** Sends `count` emails, `lanes` at a time; every one must be accepted. Returns their ids. */
async function sendMany(count, tag, lanes = 8) {
  const ids = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < count) {
        next++;
        const answer = await sendOne(tag);
        if (answer.status !== 202)
          throw new Error(`POST /api/v1/emails answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        ids.push(answer.json.id);
      }
    }),
  );
  return ids;
}

/** How many times MailDev holds each X-Email-Id. */
async function inbox() {
  const answer = await http('GET', `${maildev}/api/email`, undefined, 15_000);
  const counts = new Map();
  if (answer.status === 200)
    for (const m of answer.json)
      counts.set(m.headers?.['x-email-id'], (counts.get(m.headers?.['x-email-id']) ?? 0) + 1);
  return counts;
}
const clearInbox = () => http('DELETE', `${maildev}/api/email/all`);

/** Whether no email is left queued, sending or retrying (the API's view, whatever MailDev already holds). */
async function settled() {
  for (const status of ['queued', 'sending', 'retrying']) {
    const answer = await http('GET', `${api}/api/v1/emails?status=${status}&limit=1`);
    if (answer.status !== 200 || answer.json.items.length > 0) return false;
  }
  return true;
}

/**
 * Waits until every id is in MailDev and the API has no email left unfinished: a worker killed between its send
 * and its record leaves the email `sending` until another worker takes the job over and sends it again. Returns
 * the number of extra copies (at-least-once delivery allows them).
 */
async function allDelivered(ids, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let counts;
  await waitFor(
    `${what}: all ${ids.length} emails in MailDev`,
    async () => {
      counts = await inbox();
      return ids.every((id) => counts.has(id));
    },
    timeoutMs,
    500,
  );
  await waitFor(
    `${what}: no email left queued, sending or retrying`,
    settled,
    Math.max(deadline - Date.now(), 1000),
    1000,
  );
  counts = await inbox();
  return ids.reduce((extra, id) => extra + counts.get(id) - 1, 0);
}

const allHealthy = (service, count, timeoutMs) =>
  waitFor(
    `${count} healthy ${service} containers`,
    () => {
      const ids = containers(service);
      return ids.length === count && ids.every((id) => health(id) === 'healthy') && ids;
    },
    timeoutMs,
    1000,
  );

async function workerSentTotal(id) {
  const answer = await http('GET', `http://${ipOf(id)}:3001/metrics`);
  if (answer.status !== 200) throw new Error(`worker ${id.slice(0, 12)} /metrics answered ${answer.status}`);
  return answer.text
    .split('\n')
    .filter((line) => line.startsWith('freeface_emails_sent_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

async function queueWaiting() {
  const answer = await http('GET', `${api}/api/v1/queues`);
  if (answer.status !== 200) return undefined;
  return ['high', 'medium', 'low'].reduce((sum, p) => sum + answer.json.queues[p].waiting, 0);
}

/**
 * Starts a batch of 300 emails and, once they flow, finds a worker that is sending right now: its sent counter
 * grew over the last 300 ms. With WORKER_CONCURRENCY sends at a time, such a worker has sends in flight.
 */
async function busyWorker(workers, tag) {
  const batch = sendMany(300, tag);
  batch.catch(() => {}); // awaited by the caller; this only keeps a failure from ending the process first
  await waitFor('the first emails delivered', async () => (await inbox()).size >= 30, 30_000);
  return waitFor(
    'a worker in the middle of sending',
    async () => {
      const windowStarted = Date.now();
      const before = await Promise.all(workers.map(workerSentTotal));
      await sleep(300);
      const after = await Promise.all(workers.map(workerSentTotal));
      const i = after.findIndex((n, k) => n > before[k]);
      return (
        i >= 0 && { id: workers[i], sent: after[i] - before[i], windowMs: Date.now() - windowStarted, batch }
      );
    },
    10_000,
    0,
  );
}

const scenarios = [];
function scenario(name, body) {
  scenarios.push({ name, body });
}

// --- 1. A worker killed mid-send -------------------------------------------------------------------------------
scenario('docker kill -s KILL of a worker mid-send', async () => {
  await clearInbox();
  const victim = await busyWorker(await allHealthy('worker', 2, 60_000), 'kill');
  const ids = victim.batch;
  const started = Date.now();
  docker('kill', '-s', 'KILL', victim.id);
  const accepted = await ids;
  const extra = await allDelivered(accepted, 'after docker kill', 180_000);
  log(
    `all ${accepted.length} delivered ${seconds(Date.now() - started)} after the kill, ${extra} delivered twice`,
  );
  figure(
    'docker kill -s KILL mid-send',
    `killed while sending (${victim.sent} sent by it in the last ${seconds(victim.windowMs)}); ${accepted.length}/${accepted.length} delivered and settled ${seconds(Date.now() - started)} after the kill, ${extra} twice`,
  );
  // Docker takes `docker kill` for an operator's decision and does not apply the restart policy to it.
  await sleep(5000);
  const state = inspect(victim.id, '{{.State.Status}} exit {{.State.ExitCode}}, restarts {{.RestartCount}}');
  log(`the killed container 5 s later: ${state}`);
  figure('restart policy after docker kill', state);
  if (!state.startsWith('running')) docker('start', victim.id);
  await allHealthy('worker', 2, 90_000);
});

scenario('a worker crashing mid-send (SIGKILL to its process): restart: unless-stopped', async () => {
  await clearInbox();
  const workers = await allHealthy('worker', 2, 60_000);
  const restartsBefore = new Map(workers.map((id) => [id, Number(inspect(id, '{{.RestartCount}}'))]));
  const busy = await busyWorker(workers, 'crash');
  const victim = busy.id;
  const ids = busy.batch;
  const started = Date.now();
  process.kill(Number(inspect(victim, '{{.State.Pid}}')), 'SIGKILL');
  await waitFor(
    'the crashed worker restarted by its restart policy',
    () =>
      Number(inspect(victim, '{{.RestartCount}}')) > restartsBefore.get(victim) &&
      inspect(victim, '{{.State.Status}}') === 'running',
    30_000,
  );
  const restartedMs = Date.now() - started;
  const accepted = await ids;
  const extra = await allDelivered(accepted, 'after the crash', 180_000);
  const deliveredMs = Date.now() - started;
  await allHealthy('worker', 2, 90_000);
  log(
    `restarted after ${seconds(restartedMs)}, healthy after ${seconds(Date.now() - started)}; all ${accepted.length} delivered after ${seconds(deliveredMs)}, ${extra} twice`,
  );
  figure(
    'worker crash (SIGKILL to its process) mid-send',
    `killed while sending (${busy.sent} sent by it in the last ${seconds(busy.windowMs)}); restarted by restart: unless-stopped after ${seconds(restartedMs)}; ${accepted.length}/${accepted.length} delivered and settled ${seconds(deliveredMs)} after the crash, ${extra} twice`,
  );
});

// --- 2. Redis down for 20 s under load -------------------------------------------------------------------------
scenario('Redis stopped for 20 s under load', async () => {
  await clearInbox();
  const answers = [];
  let loading = true;
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      while (loading) {
        const at = Date.now();
        const answer = await sendOne('outage');
        answers.push({ at, status: answer.status, id: answer.status === 202 ? answer.json.id : undefined });
        await sleep(100);
      }
    }),
  );
  await sleep(3000);
  const stopped = Date.now();
  compose('stop', 'redis');
  const stopTook = Date.now() - stopped;
  await sleep(20_000 - stopTook);
  const restarted = Date.now();
  compose('start', 'redis');
  const recoveredAt = await waitFor(
    'a 202 after Redis came back',
    () => answers.find((a) => a.at > restarted && a.status === 202)?.at,
    60_000,
  );
  await sleep(5000);
  loading = false;
  await load;

  const during = answers.filter((a) => a.at > stopped + stopTook && a.at < restarted);
  const count = (list) =>
    Object.entries(Object.groupBy(list, (a) => a.status))
      .map(([status, l]) => `${l.length}x ${status}`)
      .join(', ');
  log(`during the outage: ${count(during)}; in all: ${count(answers)}`);
  if (!during.some((a) => a.status === 503))
    throw new Error(`no 503 while Redis was down (${count(during)})`);
  const unexpected = during.filter((a) => a.status !== 503);
  if (unexpected.length) throw new Error(`answers other than 503 while Redis was down: ${count(unexpected)}`);
  const accepted = answers.filter((a) => a.id).map((a) => a.id);
  const extra = await allDelivered(accepted, 'after the outage', 120_000);
  figure(
    'Redis stopped 20 s under load',
    `${count(during)} during the outage, first 202 ${seconds(recoveredAt - restarted)} after Redis started again; ${accepted.length}/${accepted.length} accepted emails delivered, ${extra} twice`,
  );
  await allHealthy('worker', 2, 90_000);
});

// --- 3. The queue survives a Redis restart (AOF) ---------------------------------------------------------------
scenario('the queue across docker-compose restart redis (AOF volume)', async () => {
  await clearInbox();
  compose('stop', 'worker');
  const ids = await sendMany(50, 'aof');
  const before = await waitFor(
    'the queue to hold the 50 emails',
    async () => ((await queueWaiting()) ?? 0) >= 50 && (await queueWaiting()),
    10_000,
  );
  compose('restart', 'redis');
  const after = await waitFor(
    'the API ready again',
    async () => (await http('GET', `${api}/health/ready`)).status === 200 && (await queueWaiting()),
    60_000,
  );
  const statuses = await Promise.all(
    ids.map(async (id) => (await http('GET', `${api}/api/v1/emails/${id}`)).json?.status),
  );
  log(
    `waiting before the restart ${before}, after ${after}; statuses after: ${[...new Set(statuses)].join(', ')}`,
  );
  if (after < 50 || statuses.some((s) => s !== 'queued'))
    throw new Error('the queue did not survive the Redis restart');
  const started = Date.now();
  compose('start', 'worker');
  const extra = await allDelivered(ids, 'after the restart', 90_000);
  figure(
    'docker-compose restart redis with 50 queued, no worker',
    `${before} waiting before, ${after} after; all 50 delivered ${seconds(Date.now() - started)} after the workers started, ${extra} twice`,
  );
  await allHealthy('worker', 2, 90_000);
});

// --- 4. Four workers ---------------------------------------------------------------------------------------------
scenario('--scale worker=4: all four deliver', async () => {
  await clearInbox();
  const started = Date.now();
  compose('up', '-d', '--no-build', '--no-recreate', '--scale', 'worker=4');
  const workers = await allHealthy('worker', 4, 120_000);
  const healthyMs = Date.now() - started;
  const before = await Promise.all(workers.map(workerSentTotal));
  const ids = await sendMany(400, 'scale');
  await allDelivered(ids, 'with four workers', 90_000);
  const after = await Promise.all(workers.map(workerSentTotal));
  const share = after.map((n, i) => n - before[i]);
  log(`four workers healthy after ${seconds(healthyMs)}; sends per worker: ${share.join(', ')}`);
  if (share.some((n) => n === 0)) throw new Error(`a worker sent nothing: ${share.join(', ')}`);
  figure(
    '--scale worker=4',
    `healthy after ${seconds(healthyMs)}; 400 emails, sent per worker ${share.join(' / ')}`,
  );
  compose('up', '-d', '--no-build', '--no-recreate', '--scale', 'worker=2');
  await allHealthy('worker', 2, 60_000);
});

// --- 5. docker stop with a send in flight ----------------------------------------------------------------------
scenario('docker stop of a worker with a send in flight', async () => {
  const network = `${project}_freeface`;
  const sink = `${project}-slow-smtp`;
  const worker = `${project}-slow-worker`;
  removeContainers(sink, worker);
  try {
    compose('stop', 'worker');
    docker(
      'run',
      '-d',
      '--name',
      sink,
      '--network',
      network,
      '--network-alias',
      'slow-smtp',
      '-e',
      'DELAY_MS=8000',
      '-v',
      `${root}/test/docker/slow-smtp.mjs:/app/slow-smtp.mjs:ro`,
      '--entrypoint',
      'node',
      image,
      '/app/slow-smtp.mjs',
    );
    await waitFor('the slow SMTP sink', () => docker('logs', sink).includes('"listening"'), 20_000);
    compose(
      'run',
      '-d',
      '--no-deps',
      '--name',
      worker,
      '-e',
      'SMTP_HOST=slow-smtp',
      '-e',
      'SMTP_PORT=2526',
      'worker',
    );
    await waitFor(
      'the worker on the slow sink',
      () => docker('logs', worker).includes('FreeFace started'),
      60_000,
    );
    const [id] = await sendMany(1, 'stop', 1);
    await waitFor(
      'the send in flight (the sink has the message)',
      () => docker('logs', sink).includes(`"data","at"`) && docker('logs', sink).includes(id),
      30_000,
    );
    const started = Date.now();
    docker('stop', '-t', String(graceSeconds), worker);
    const stopMs = Date.now() - started;
    const exitCode = Number(inspect(worker, '{{.State.ExitCode}}'));
    const completed = docker('logs', sink)
      .split('\n')
      .some((line) => line.includes('"accepted"') && line.includes(id));
    const status = (await http('GET', `${api}/api/v1/emails/${id}`)).json?.status;
    log(
      `docker stop took ${seconds(stopMs)}, exit code ${exitCode}; the sink answered 250: ${completed}; status ${status}`,
    );
    if (exitCode !== 0) throw new Error(`the worker exited ${exitCode}`);
    if (stopMs >= graceSeconds * 1000) throw new Error('the worker outlived the grace period');
    if (!completed || status !== 'sent')
      throw new Error(`the send in flight did not complete (sink: ${completed}, status ${status})`);
    figure(
      'docker stop of a worker with a send in flight (8 s SMTP reply)',
      `exit 0 after ${seconds(stopMs)} (grace ${graceSeconds} s); the send completed, status sent`,
    );
  } finally {
    removeContainers(sink, worker);
    compose('start', 'worker');
  }
  await allHealthy('worker', 2, 90_000);
});

let failed = 0;
for (const { name, body } of scenarios) {
  console.log(`\n-- ${name}`);
  const started = Date.now();
  try {
    await body();
    console.log(`PASS  ${name} (${seconds(Date.now() - started)})`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}: ${error.message}`);
  }
}
console.log(`\nbreak-it: ${scenarios.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
