#!/usr/bin/env node
// Send one email through FreeFace and wait until it is sent. Node 18+ (built-in fetch), no dependencies.
//
//   FREEFACE_URL=http://localhost:3000 FREEFACE_TOKEN=st_dev_... node docs/examples/send-email.mjs
//
// Environment: FREEFACE_URL (default http://localhost:3000), FREEFACE_TOKEN (required; scopes send and read),
// FREEFACE_TO (the recipient, default ana@example.com), FREEFACE_TIMEOUT (seconds to wait for "sent", default 60).
// Exit status: 0 once the email is sent; 1 when it is refused, fails or is not sent in time; 2 for a usage error.
// See docs/INTEGRATION.md.
/* global AbortSignal */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

const BASE_URL = (process.env.FREEFACE_URL || 'http://localhost:3000').replace(/\/+$/, '');
const TOKEN = process.env.FREEFACE_TOKEN || '';
const TO = process.env.FREEFACE_TO || 'ana@example.com';
const TIMEOUT_SECONDS = Number(process.env.FREEFACE_TIMEOUT || 60);

/** Answers worth one more try after Retry-After: rate limited (429), Redis unreachable for a moment (503). */
const RETRYABLE = new Set([429, 503]);
/** …and a 409 with Retry-After: the first request with this Idempotency-Key is still running. */
const shouldRetry = (status, headers) =>
  RETRYABLE.has(status) || (status === 409 && headers.has('retry-after'));
/** Statuses after which an email will never be sent. */
const NOT_SENT = new Set(['dead', 'cancelled', 'suppressed', 'bounced', 'complained']);

/** One HTTP call: { status, headers, body } with the JSON body parsed (null when there is none). */
async function call(method, path, { body, headers = {} } = {}) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page): keep null.
  }
  return { status: response.status, headers: response.headers, body: json };
}

/** Retry-After in seconds (FreeFace sends whole seconds), kept between 1 and 60. */
function retryAfterSeconds(headers) {
  const value = Number.parseInt(headers.get('retry-after') ?? '', 10);
  return Number.isFinite(value) ? Math.min(Math.max(value, 1), 60) : 1;
}

/** An application/problem+json error: what went wrong, per field, and the request id for the logs. */
function printProblem(status, problem) {
  const p = problem && typeof problem === 'object' ? problem : {};
  console.error(`HTTP ${status} ${p.title ?? ''}: ${p.detail ?? ''}`);
  for (const error of p.errors ?? []) console.error(`  ${error.field}: ${error.message}`);
  if (p.requestId) console.error(`  requestId ${p.requestId}`);
}

/** POSTs the email; returns its id, or null when it was refused. Retries once on 429/503 (Retry-After) or no answer. */
async function send(email) {
  // The same key on the retry: if the first request did get through, the retry gets its answer back
  // (Idempotent-Replayed: true) instead of sending a second email.
  const key = randomUUID();
  for (const attempt of [1, 2]) {
    let response;
    try {
      response = await call('POST', '/api/v1/emails', { body: email, headers: { 'Idempotency-Key': key } });
    } catch (error) {
      // No answer at all: connection refused, timeout.
      if (attempt === 2) {
        console.error(`no answer from ${BASE_URL}: ${error.cause?.message ?? error.message}`);
        return null;
      }
      console.log(
        `no answer (${error.cause?.message ?? error.message}); retrying once in 1s with the same Idempotency-Key ${key}`,
      );
      await sleep(1000);
      continue;
    }
    const { status, headers, body } = response;
    if (status === 202) {
      const replayed = headers.get('idempotent-replayed') === 'true' ? ' (replayed)' : '';
      console.log(
        `accepted${replayed}: id ${body.id}, status ${body.status}, Location ${headers.get('location')}`,
      );
      return body.id;
    }
    if (shouldRetry(status, headers) && attempt === 1) {
      const wait = retryAfterSeconds(headers);
      console.log(
        `HTTP ${status}: retrying once in ${wait}s (Retry-After) with the same Idempotency-Key ${key}`,
      );
      await sleep(wait * 1000);
      continue;
    }
    printProblem(status, body);
    return null;
  }
  return null;
}

/** Polls GET /api/v1/emails/{id} until the email is sent (true), cannot be sent, or time runs out (false). */
async function waitUntilSent(id) {
  const deadline = Date.now() + TIMEOUT_SECONDS * 1000;
  let last = null;
  while (Date.now() < deadline) {
    let response;
    try {
      response = await call('GET', `/api/v1/emails/${id}`);
    } catch (error) {
      console.log(`no answer (${error.cause?.message ?? error.message}); asking again`);
      await sleep(1000);
      continue;
    }
    const { status, headers, body } = response;
    if (RETRYABLE.has(status)) {
      await sleep(retryAfterSeconds(headers) * 1000);
      continue;
    }
    if (status !== 200) {
      printProblem(status, body);
      return false;
    }
    if (body.status !== last) {
      last = body.status;
      console.log(`status: ${last}`);
    }
    if (last === 'sent' || last === 'delivered') {
      console.log(
        `sent through ${body.provider} after ${body.attempts} attempt(s), Message-ID ${body.providerMessageId}`,
      );
      return true;
    }
    if (NOT_SENT.has(last)) {
      console.error(`not sent (${last}): ${body.lastError}`);
      return false;
    }
    await sleep(1000);
  }
  console.error(`still ${last} after ${TIMEOUT_SECONDS}s`);
  return false;
}

if (!TOKEN) {
  console.error('set FREEFACE_TOKEN to a service token (scopes send and read)');
  process.exit(2);
}
console.log(`sending to ${TO} through ${BASE_URL}`);
const id = await send({
  to: [TO],
  subject: 'Hello from Node.js',
  text: 'Sent with docs/examples/send-email.mjs.',
  tags: ['example'],
  metadata: { example: 'node' },
});
process.exitCode = id !== null && (await waitUntilSent(id)) ? 0 : 1;
