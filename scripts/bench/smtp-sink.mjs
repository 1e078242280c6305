// The SMTP server the delivery benchmarks send to, in a process of its own so that its CPU is measured
// apart from the runner's and the sender's. No TLS, no AUTH: the cost under test is the sender's. Every
// message is read to its end (a sink that stopped reading would slow the sender down, or hide its cost).
// Each message names itself in an `X-Bench-Id: <tag>-<n>` header; the sink counts, per expected number,
// how often it came, so that a run reports what went missing and what came twice.
//   SMTP_PORT=2526 CONTROL_PORT=2527 node scripts/bench/smtp-sink.mjs
// Control (HTTP, JSON):
//   POST /reset { tag, expected, delayMs }  a new round: forget everything, expect <tag>-0 … <tag>-<expected-1>,
//                                           answer each DATA delayMs after its end (a slow receiving server)
//   GET  /stats[?arrivals=1]                the counts so far (and every arrival time, epoch ms)
//   GET  /wait?timeoutMs=N                  answers once every expected message came, or after N ms
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';

const HEADER = /^x-bench-id:[ \t]*([^\r\n]+)/im;
const MAX_HEADER_BYTES = 64 * 1024;

let round = newRound({ tag: '', expected: 0, delayMs: 0 });
let waiters = [];

function newRound({ tag, expected, delayMs }) {
  return {
    tag,
    expected,
    delayMs,
    counts: new Uint16Array(expected),
    distinct: 0,
    duplicates: 0,
    unknown: 0,
    arrivals: [],
  };
}

/** Epoch milliseconds with sub-millisecond precision, comparable with the runner's. */
const now = () => performance.timeOrigin + performance.now();

function record(id) {
  const r = round;
  r.arrivals.push(now());
  const dash = id?.lastIndexOf('-') ?? -1;
  const n = dash > 0 && id.slice(0, dash) === r.tag ? Number(id.slice(dash + 1)) : NaN;
  if (!Number.isInteger(n) || n < 0 || n >= r.expected) {
    r.unknown += 1;
    return;
  }
  r.counts[n] += 1;
  if (r.counts[n] === 1) r.distinct += 1;
  else r.duplicates += 1;
  if (r.distinct === r.expected) settleWaiters();
}

function stats(withArrivals = false) {
  const r = round;
  const missing = [];
  for (let n = 0; n < r.expected && missing.length < 10; n++) if (r.counts[n] === 0) missing.push(n);
  return {
    tag: r.tag,
    expected: r.expected,
    received: r.arrivals.length,
    distinct: r.distinct,
    duplicates: r.duplicates,
    unknown: r.unknown,
    complete: r.expected > 0 && r.distinct === r.expected,
    firstAt: r.arrivals[0] ?? null,
    lastAt: r.arrivals.at(-1) ?? null,
    someMissing: missing,
    ...(withArrivals ? { arrivals: r.arrivals } : {}),
  };
}

function settleWaiters() {
  const pending = waiters;
  waiters = [];
  for (const waiter of pending) waiter();
}

const smtp = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  authOptional: true,
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    // Only the header block is kept (to find X-Bench-Id); the rest is read and dropped.
    let head = '';
    let inHeader = true;
    stream.on('data', (chunk) => {
      if (!inHeader) return;
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end >= 0 || head.length > MAX_HEADER_BYTES) {
        inHeader = false;
        if (end >= 0) head = head.slice(0, end);
      }
    });
    stream.on('end', () => {
      const answer = () => {
        // Counted when the sender gets its 250: that is when the email counts as delivered.
        record(HEADER.exec(head)?.[1]?.trim());
        callback();
      };
      if (round.delayMs > 0) setTimeout(answer, round.delayMs);
      else answer();
    });
  },
});
smtp.on('error', (error) => console.error(`smtp sink: ${error.message}`));

const control = createServer((request, response) => {
  const url = new URL(request.url, 'http://sink');
  const reply = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (request.method === 'POST' && url.pathname === '/reset') {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { tag, expected, delayMs = 0 } = JSON.parse(body);
      round = newRound({ tag: String(tag), expected: Number(expected), delayMs: Number(delayMs) });
      reply(200, stats());
    });
  } else if (url.pathname === '/stats') {
    reply(200, stats(url.searchParams.get('arrivals') === '1'));
  } else if (url.pathname === '/wait') {
    if (stats().complete) return reply(200, stats());
    const timeoutMs = Number(url.searchParams.get('timeoutMs') ?? 30_000);
    const answer = () => {
      clearTimeout(timer);
      reply(200, stats());
    };
    const timer = setTimeout(() => {
      waiters = waiters.filter((waiter) => waiter !== answer);
      answer();
    }, timeoutMs);
    waiters.push(answer);
  } else {
    reply(404, { error: 'not found' });
  }
});

const listen = (server, port) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
await listen(smtp, Number(process.env.SMTP_PORT));
await listen(control, Number(process.env.CONTROL_PORT));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    control.close();
    smtp.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
