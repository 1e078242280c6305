// One load run in a process of its own, so that every measurement starts with a fresh load generator (an
// autocannon that had just sent 100,000 requests in the runner's process was measurably slower to send the
// next ones, which made the product look slower). Protocol, one JSON line each way:
//   stdin: { request, warmupS, durationS | amount }   → runs the warm-up (if any), then prints {"ready":true}
//   stdin: "go"                                        → runs the measured part, prints { result }
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async () => (await lines.next()).value;
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const fire = (options) =>
  new Promise((resolve, reject) =>
    autocannon({ method: 'POST', timeout: 10, ...options }, (error, result) =>
      error ? reject(error) : resolve(result),
    ),
  );

/** What the parent needs of autocannon's result (the full one holds histograms). */
const essentials = (r) => ({
  duration: r.duration,
  '2xx': r['2xx'],
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  statusCodeStats: r.statusCodeStats,
  latency: r.latency,
  requests: r.requests,
});

const { request, warmupS = 0, durationS, amount } = JSON.parse(await next());
const warmup = warmupS > 0 ? essentials(await fire({ ...request, duration: warmupS })) : undefined;
say({ ready: true, warmup });
if ((await next()) !== 'go') process.exit(1); // the runner went away: no load without it
say({ result: essentials(await fire({ ...request, ...(amount ? { amount } : { duration: durationS }) })) });
process.stdin.destroy();
