// Accepting email over SMTP: the product's smtp role against the raw floor of the same work (smtp-server,
// mailparser and one Bull add: scripts/bench/raw-smtp-ingress.mjs), in the same run, with the same client:
// nodemailer's pooled transport, CONNECTIONS sessions sending the benchmark's ~2 KB email back to back.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateToken, startProduct } from '../lib/apps.mjs';
import { email } from '../lib/email-body.mjs';
import { connect } from 'node:net';
import { freePort, startProcess } from '../lib/processes.mjs';

const require = createRequire(import.meta.url);
const CONNECTIONS = 10;
const GOAL = 0.7;

/** Sends `count` messages through `transport`, CONNECTIONS at a time; returns seconds and each send's ms. */
async function send(transport, count) {
  const message = email();
  const mail = {
    from: 'FreeFace Bench <noreply@bench.example.com>',
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
  };
  const times = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < count) {
        next++;
        const t = performance.now();
        const info = await transport.sendMail(mail);
        if (!/queued as /.test(info.response)) throw new Error(`unexpected reply: ${info.response}`);
        times.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, times: times.sort((a, b) => a - b) };
}

/** True once something accepts TCP connections on `port`. */
const accepts = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const p99 = (sorted) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];

export default {
  name: 'smtp-accept',
  order: 60,
  title: 'Accepting email over SMTP (smtp role): product vs raw smtp-server + mailparser + Bull add',
  async run({ root, dist, redis, settings, log }) {
    const count = settings.backlog >= 100_000 ? 5_000 : 1_000;
    const nodemailer = require(join(root, 'node_modules', 'nodemailer'));
    const transportTo = (port, auth) =>
      nodemailer.createTransport({
        host: '127.0.0.1',
        port,
        secure: false,
        ignoreTLS: true,
        pool: true,
        maxConnections: CONNECTIONS,
        maxMessages: Infinity,
        ...(auth ? { auth } : {}),
      });

    const measure = async (name, port, auth) => {
      const transport = transportTo(port, auth);
      try {
        await send(transport, Math.min(500, count)); // warm-up: connections, JIT
        const result = await send(transport, count);
        log(
          `${name}: ${count} messages in ${result.seconds.toFixed(2)} s → ${Math.round(count / result.seconds)}/s`,
        );
        return result;
      } finally {
        transport.close();
      }
    };

    const rawPort = await freePort();
    const rawApp = await startProcess({
      name: 'raw smtp ingress',
      command: process.execPath,
      args: [join(root, 'scripts', 'bench', 'raw-smtp-ingress.mjs')],
      cwd: root,
      env: { PORT: String(rawPort), REDIS_URL: redis.url, QUEUE_PREFIX: '{bench-raw-smtp}' },
      ready: () => accepts(rawPort),
    });
    let raw;
    try {
      raw = await measure('raw', rawPort);
    } finally {
      await rawApp.stop();
    }

    const token = generateToken(dist);
    const ingressPort = await freePort();
    const product = await startProduct({
      root,
      dist,
      redisUrl: redis.url,
      prefix: '{bench-smtp}',
      token,
      role: 'smtp',
      env: { SMTP_INGRESS_PORT: String(ingressPort) },
    });
    let ours;
    try {
      ours = await measure('product', ingressPort, { user: 'bench', pass: token });
    } finally {
      await product.stop();
    }

    const perSecond = (result) => count / result.seconds;
    return {
      rows: [
        {
          key: 'raw',
          label: `raw: smtp-server + mailparser + Bull add (${CONNECTIONS} sessions)`,
          reqPerSec: perSecond(raw),
          p99Ms: p99(raw.times),
        },
        {
          key: 'product',
          label: `product: smtp role, AUTH with a token (${CONNECTIONS} sessions)`,
          reqPerSec: perSecond(ours),
          p99Ms: p99(ours.times),
          vs: { key: 'raw', label: 'raw' },
          goal: GOAL,
        },
      ],
      notes: [
        `Messages per second over ${count.toLocaleString('en-US')} messages after a warm-up, from nodemailer's pooled transport (plain SMTP on both: TLS would cost both sides the same). "p99 ms" is one message from MAIL FROM to the 250 reply.`,
        'The product also authenticates each session with a service token, validates the message as the API validates a request (class-validator), writes the email record and its message, adds the job, and writes the audit entry and counters (batched).',
        `Goal: at least ${GOAL} × the raw floor.`,
      ],
      raw: { count, raw: { seconds: raw.seconds }, product: { seconds: ours.seconds } },
    };
  },
};
