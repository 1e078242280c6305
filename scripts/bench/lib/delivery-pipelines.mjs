// The two delivery pipelines the benchmarks compare, each started against a queue filled beforehand and
// sending to the benchmark's SMTP sink: the product's worker (APP_ROLE=worker) and the raw floor
// (scripts/bench/raw-pipeline.mjs: Bull process(N) → nodemailer pool), with the raw queue's jobs as
// raw Bull would carry them. Every message names itself in an X-Bench-Id header, which the sink counts.
import { join } from 'node:path';
import { EMAIL_FROM, startProduct } from './apps.mjs';
import { email } from './email-body.mjs';
import { answersOk, freePort, startProcess } from './processes.mjs';

export const ID_HEADER = 'X-Bench-Id';
export const RAW_QUEUE = 'raw-emails';
/** SMTP connections per worker: the product's default pool, or one per job in flight when there are more. */
export const POOL_SIZE = 5;
const poolSize = (concurrency) => Math.max(POOL_SIZE, concurrency);

/** The id the sink expects of the `n`th email of a round. */
export const idOf = (tag, n) => `${tag}-${n}`;

/** What the product asks of Bull too: retries, and completed jobs trimmed rather than kept. */
export const RAW_JOB_OPTS = { attempts: 3, removeOnComplete: { age: 3600, count: 1000 } };

/** A raw job's data: the whole message, as a raw queue would carry it. */
export function rawJobData(id) {
  const { to, subject, text, html } = email();
  return {
    from: `${EMAIL_FROM.name} <${EMAIL_FROM.email}>`,
    to,
    subject,
    text,
    html,
    headers: { [ID_HEADER]: id },
  };
}

/** scripts/bench/raw-pipeline.mjs as a process of its own, taking jobs from `prefix`'s raw queue. */
export async function startRawWorker({ root, redisUrl, prefix, sink, concurrency, name, nodeArgs = [] }) {
  const port = await freePort();
  return startProcess({
    name: `raw pipeline (${name})`,
    command: process.execPath,
    args: [...nodeArgs, join(root, 'scripts', 'bench', 'raw-pipeline.mjs')],
    cwd: root,
    env: {
      PORT: String(port),
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      QUEUE_NAME: RAW_QUEUE,
      CONCURRENCY: String(concurrency),
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
      SMTP_POOL_SIZE: String(poolSize(concurrency)),
    },
    ready: () => answersOk(`http://127.0.0.1:${port}/health`),
  });
}

/**
 * The product's worker role on `prefix`, sending through its SMTP provider to the sink; `env` adds settings
 * (REDIS_CLUSTER_NODES instead of a `redisUrl`…).
 */
export function startProductWorker({
  root,
  dist,
  redisUrl,
  prefix,
  token,
  sink,
  concurrency,
  env = {},
  nodeArgs = [],
}) {
  return startProduct({
    root,
    dist,
    redisUrl,
    prefix,
    token,
    role: 'worker',
    // No RATE_LIMIT_SMTP: the provider's token bucket is then unlimited.
    env: {
      EMAIL_PROVIDER: 'smtp',
      SMTP_HOST: sink.host,
      SMTP_PORT: String(sink.port),
      SMTP_SECURE: 'false',
      SMTP_POOL_SIZE: String(poolSize(concurrency)),
      WORKER_CONCURRENCY: String(concurrency),
      ...env,
    },
    nodeArgs,
  });
}
