#!/usr/bin/env node
// Verify a FreeFace webhook (Standard Webhooks signature). Node.js 18+, no dependencies.
//
//   FREEFACE_WEBHOOK_SECRET=whsec_... node docs/examples/verify-webhook.mjs \
//       <webhook-id> <webhook-timestamp> <webhook-signature> < body.json
//
// Exit status: 0 when the signature is good and the timestamp within five minutes of now; 1 otherwise;
// 2 for a usage error. In a receiver, call verifyWebhook() with the three headers and the raw body (the bytes
// as received, before JSON.parse), and drop an event whose webhook-id you have already handled.
// See docs/WEBHOOKS.md.
import { createHmac, timingSafeEqual } from 'node:crypto';

const TOLERANCE_SECONDS = 5 * 60;

export function verifyWebhook(secret, headers, rawBody, nowSeconds = Date.now() / 1000) {
  const { id, timestamp, signature } = headers;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest();
  // The header may carry several signatures (space-separated) while a secret is being rotated.
  return signature.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secret = process.env.FREEFACE_WEBHOOK_SECRET ?? '';
  const [id, timestamp, signature] = process.argv.slice(2);
  if (!secret || !id || !timestamp || !signature) {
    console.error(
      'usage: FREEFACE_WEBHOOK_SECRET=whsec_... node verify-webhook.mjs <id> <timestamp> <signature> < body',
    );
    process.exit(2);
  }
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  if (verifyWebhook(secret, { id, timestamp, signature }, Buffer.concat(chunks))) {
    console.log('valid');
  } else {
    console.error('invalid signature or stale timestamp');
    process.exit(1);
  }
}
