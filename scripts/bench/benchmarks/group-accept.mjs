// How long the API takes to accept a group notification to 10,000 recipients (goal: under 2 s), against the
// raw floor of that work: one Bull addBulk of 10,000 jobs into the same Redis.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateToken, startProduct } from '../lib/apps.mjs';

const require = createRequire(import.meta.url);
const GOAL_MS = 2000;

function recipients(count) {
  return Array.from({ length: count }, (_, n) => ({
    email: `member${n}@bench.example.com`,
    name: `Member ${n}`,
    data: { name: `Member ${n}`, actionUrl: `https://app.example.com/welcome/${n}` },
  }));
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export default {
  name: 'group-accept',
  order: 50,
  title: 'Accepting one group notification to many recipients (POST /api/v1/emails/group)',
  async run({ root, dist, redis, settings, log }) {
    const count = settings.backlog >= 100_000 ? 10_000 : 2_000;
    const runs = settings.backlog >= 100_000 ? 3 : 2;
    const token = generateToken(dist);
    const prefix = '{bench-group}';
    const product = await startProduct({ root, dist, redisUrl: redis.url, prefix, token });
    try {
      const body = JSON.stringify({
        recipients: recipients(count),
        template: 'welcome',
        data: { product: 'FreeFace', actionUrl: 'https://app.example.com' },
      });
      const post = async () => {
        const started = performance.now();
        const response = await fetch(`${product.url}/api/v1/emails/group`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body,
        });
        const ms = performance.now() - started;
        const answer = await response.json();
        if (response.status !== 202 || answer.count !== count) {
          throw new Error(`group answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
        }
        return ms;
      };
      log(`warming up with one group of ${count}`);
      await post();
      const times = [];
      for (let i = 0; i < runs; i++) times.push(await post());
      log(`product: ${times.map((t) => `${Math.round(t)} ms`).join(', ')}`);

      const Bull = require(join(root, 'node_modules', 'bull'));
      const queue = new Bull('bench-raw-group', redis.url, { prefix: '{bench-raw}' });
      const jobs = Array.from({ length: count }, (_, n) => ({
        data: { n },
        opts: { jobId: `raw-${n}-${Date.now()}` },
      }));
      const rawStarted = performance.now();
      await queue.addBulk(jobs);
      const rawMs = performance.now() - rawStarted;
      await queue.close();

      const productMs = median(times);
      const perSecond = (ms) => (count / ms) * 1000;
      return {
        rows: [
          {
            key: 'goal',
            label: `goal: ${count.toLocaleString('en-US')} recipients in ${GOAL_MS} ms`,
            reqPerSec: perSecond(GOAL_MS),
            p99Ms: GOAL_MS,
          },
          {
            key: 'raw',
            label: `raw floor: one Bull addBulk of ${count.toLocaleString('en-US')} jobs`,
            reqPerSec: perSecond(rawMs),
            p99Ms: rawMs,
          },
          {
            key: 'product',
            label: `product: group of ${count.toLocaleString('en-US')} (median of ${runs}; "p99 ms" = whole call)`,
            reqPerSec: perSecond(productMs),
            p99Ms: productMs,
            vs: { key: 'goal', label: 'goal' },
            goal: 1,
          },
        ],
        notes: [
          `Rows give recipients per second and, in the "p99 ms" column, the whole call in milliseconds.`,
          `The product validates the body, renders the welcome template for each recipient, writes ${count.toLocaleString('en-US')} records (MULTIs of 500 sent at once) and queues the jobs with one addBulk; it answers when all is in Redis.`,
          `Product calls: ${times.map((t) => `${Math.round(t)} ms`).join(', ')}; raw addBulk: ${Math.round(rawMs)} ms.`,
        ],
        raw: { count, times, rawMs },
      };
    } finally {
      await product.stop();
    }
  },
};
