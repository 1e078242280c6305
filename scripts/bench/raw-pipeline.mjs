// The raw floor of delivery: the least a Node process can do to take email jobs from Bull and send them
// over SMTP. One Bull queue, `queue.process(CONCURRENCY)`, and a nodemailer pool like the product's
// (pool, SMTP_POOL_SIZE connections, no reconnect every 100 messages). The job carries the whole message;
// nothing is recorded beyond what Bull does itself. No Nest, no logging, no metrics.
//   PORT=3998 REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX={raw} QUEUE_NAME=raw-emails CONCURRENCY=3 \
//   SMTP_HOST=127.0.0.1 SMTP_PORT=2526 SMTP_POOL_SIZE=5 node scripts/bench/raw-pipeline.mjs
// GET /health answers 200 once the queue is being processed; SIGTERM/SIGINT finish the running jobs and
// exit 0 (so that --cpu-prof writes its profile).
import { createServer } from 'node:http';
import Bull from 'bull';
import { createTransport } from 'nodemailer';

const env = process.env;
const queue = new Bull(env.QUEUE_NAME ?? 'raw-emails', env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  prefix: env.QUEUE_PREFIX ?? '{raw}',
});
const transport = createTransport({
  pool: true,
  host: env.SMTP_HOST ?? '127.0.0.1',
  port: Number(env.SMTP_PORT ?? 25),
  secure: false,
  maxConnections: Number(env.SMTP_POOL_SIZE ?? 5),
  maxMessages: Infinity,
});

let ready = false;
const server = createServer((_request, response) => {
  response.writeHead(ready ? 200 : 503).end();
}).listen(Number(env.PORT), '127.0.0.1');

await queue.isReady();
void queue.process(Number(env.CONCURRENCY ?? 3), async (job) => {
  const info = await transport.sendMail(job.data);
  return info.messageId;
});
ready = true;

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    server.close();
    await queue.close(); // waits for the jobs in flight
    transport.close();
    process.exit(0);
  });
}
