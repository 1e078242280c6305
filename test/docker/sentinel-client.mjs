// Writes to Redis through the sentinels with the settings docker-compose.sentinel.yml gives the app
// (REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_PASSWORD_FILE, REDIS_SENTINEL_PASSWORD_FILE, WAIT for
// REDIS_WAIT_REPLICAS), with ioredis, the app's client: one INCR and WAIT every 50 ms for SECONDS seconds, while
// test/docker/sentinel-failover.sh stops the primary. Prints one JSON line: the writes acknowledged (INCR
// answered and WAIT reached the replicas), those that failed, the counter read at the end from the new primary,
// and the longest time between two acknowledged writes. The counter below the acknowledged count is a lost
// acknowledged write. Runs in the app image (ioredis in /app/node_modules), mounted at /app.
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const read = (file) => readFileSync(file, 'utf8').trim();
const runMs = Number(process.env.SECONDS ?? 20) * 1000;
const waitReplicas = Number(process.env.REDIS_WAIT_REPLICAS ?? 1);

const redis = new Redis({
  sentinels: env('REDIS_SENTINELS')
    .split(',')
    .map((address) => {
      const [host, port] = address.split(':');
      return { host, port: Number(port) };
    }),
  name: env('REDIS_SENTINEL_NAME'),
  password: read(env('REDIS_PASSWORD_FILE')),
  sentinelPassword: read(env('REDIS_SENTINEL_PASSWORD_FILE')),
  maxRetriesPerRequest: 1,
});
// Connection errors while the primary is down are expected; the failed writes count them.
redis.on('error', () => {});

const key = 'freeface-ci:sentinel-counter';
const started = Date.now();
let acknowledged = 0;
let failed = 0;
let lastAcknowledged = started;
let longestGapMs = 0;
const errors = new Set();

await redis.del(key);
while (Date.now() - started < runMs) {
  try {
    await redis.incr(key);
    const replicas = await redis.wait(waitReplicas, 1000);
    if (replicas < waitReplicas) throw new Error(`WAIT ${waitReplicas}: ${replicas} replicas`);
    acknowledged++;
    const now = Date.now();
    longestGapMs = Math.max(longestGapMs, now - lastAcknowledged);
    lastAcknowledged = now;
  } catch (error) {
    failed++;
    errors.add(error instanceof Error ? error.message.slice(0, 80) : String(error));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const counter = Number(await redis.get(key));
const [role] = await redis.role();
console.log(JSON.stringify({ acknowledged, failed, counter, longestGapMs, role, errors: [...errors] }));
redis.disconnect();
