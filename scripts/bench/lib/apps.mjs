// The two HTTP apps under load: the product (`node dist/main.js`, role api) and the raw baseline app.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { answersOk, freePort, startProcess } from './processes.mjs';

const require = createRequire(import.meta.url);

export const BENCH_SERVICE = 'bench';
export const EMAIL_FROM = { email: 'noreply@bench.example.com', name: 'FreeFace Bench' };

/** A valid service token, made by the product's own generator (the build's copy). */
export function generateToken(dist) {
  return require(join(dist, 'common', 'token-format.js')).generateToken('dev');
}

/**
 * The built product (`dist`), by default with the API role only: nothing consumes the queues, so whatever
 * is accepted stays. `role` and `env` start it otherwise (a worker, more settings); `nodeArgs` go to node
 * itself (e.g. --cpu-prof). A worker without the API answers its probes on WORKER_HEALTH_PORT. Without a
 * `redisUrl`, `env` says where Redis is (REDIS_CLUSTER_NODES, REDIS_SENTINELS).
 */
export async function startProduct({
  root,
  dist,
  redisUrl,
  prefix,
  token,
  role = 'api',
  env = {},
  nodeArgs = [],
}) {
  const port = await freePort();
  const roles = role.split(',');
  const probesOnWorkerPort = roles.includes('worker') && !roles.includes('api') && !roles.includes('all');
  const probesOnSmtpPort = roles.includes('smtp') && !roles.includes('api') && !roles.includes('worker');
  const app = await startProcess({
    name: `product (node ${join(dist, 'main.js')}, APP_ROLE=${role})`,
    command: process.execPath,
    args: [...nodeArgs, join(dist, 'main.js')],
    cwd: root,
    env: {
      APP_ROLE: role,
      PORT: String(port),
      ...(probesOnWorkerPort ? { WORKER_HEALTH_PORT: String(port) } : {}),
      ...(probesOnSmtpPort ? { SMTP_HEALTH_PORT: String(port) } : {}),
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      QUEUE_PREFIX: prefix,
      ENVIRONMENT: 'development',
      EMAIL_FROM: `${EMAIL_FROM.name} <${EMAIL_FROM.email}>`,
      [`SERVICE_TOKEN_${BENCH_SERVICE.toUpperCase()}_PRIMARY`]: token,
      // Checked on every accept as with the default, but out of reach of a fast machine's long run.
      DAILY_BYTE_QUOTA: String(2 ** 50),
      // The benchmarks' webhook receivers listen on loopback, which no environment allows unless named.
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1/32',
      LOG_LEVEL: 'warn',
      ...env,
    },
    ready: () => answersOk(`http://127.0.0.1:${port}/health/ready`),
  });
  return { ...app, url: `http://127.0.0.1:${port}` };
}

/** scripts/bench/baseline-app.mjs as its own process, its Bull queue in the same Redis. */
export async function startBaseline({ root, redisUrl, prefix }) {
  const port = await freePort();
  const app = await startProcess({
    name: 'baseline app',
    command: process.execPath,
    args: [join(root, 'scripts', 'bench', 'baseline-app.mjs')],
    cwd: root,
    env: { PORT: String(port), REDIS_URL: redisUrl, QUEUE_PREFIX: prefix },
    ready: () => answersOk(`http://127.0.0.1:${port}/health`),
  });
  return { ...app, url: `http://127.0.0.1:${port}` };
}
