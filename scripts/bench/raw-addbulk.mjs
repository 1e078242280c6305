// The raw floor of accepting a batch: Bull's `addBulk` of 100 jobs, each carrying the whole ~2 KB email as
// its data, called back to back by CONNECTIONS loops at once (as many batches in flight as the HTTP load
// has requests), in a process of its own. No HTTP, no validation, no record: what the issue's "raw
// addBulk(100)" means. Prints {"warm":true} after the warm-up, then one JSON line: { emails, seconds,
// perSecond: { min, max }, p99Ms }.
//   REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX={raw} CONNECTIONS=10 BATCH=100 WARMUP_S=2 DURATION_S=10 \
//   node scripts/bench/raw-addbulk.mjs
import { performance } from 'node:perf_hooks';
import Bull from 'bull';
import { email } from './lib/email-body.mjs';

const env = process.env;
const connections = Number(env.CONNECTIONS ?? 10);
const batch = Number(env.BATCH ?? 100);
const queue = new Bull('raw-batch', env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  prefix: env.QUEUE_PREFIX ?? '{raw}',
});
await queue.isReady();

/** Runs the loops until `until` (performance.now()); returns each call's end time and duration. */
async function load(until) {
  const calls = [];
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        await queue.addBulk(Array.from({ length: batch }, () => ({ data: email() })));
        const ended = performance.now();
        calls.push({ ended, ms: ended - started });
      }
    }),
  );
  return calls;
}

await load(performance.now() + Number(env.WARMUP_S ?? 2) * 1000);
process.stdout.write(`${JSON.stringify({ warm: true })}\n`);
const startedAt = performance.now();
const calls = await load(startedAt + Number(env.DURATION_S ?? 10) * 1000);
const seconds = (Math.max(...calls.map((c) => c.ended)) - startedAt) / 1000;
const perSecond = new Array(Math.max(1, Math.floor(seconds))).fill(0);
for (const { ended } of calls) {
  const second = Math.floor((ended - startedAt) / 1000);
  if (second < perSecond.length) perSecond[second] += batch;
}
const durations = calls.map((c) => c.ms).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    emails: calls.length * batch,
    seconds,
    perSecond: { min: Math.min(...perSecond), max: Math.max(...perSecond) },
    p99Ms: durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.99))],
  })}\n`,
);
await queue.close();
