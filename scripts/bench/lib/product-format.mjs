// Writes accepted emails straight into Redis in the product's own format, for backlogs too large to push
// through the API in reasonable time. It uses the build's own code wherever the product has it:
// EmailStore.createMany (the record hash `{prefix}:email:<id>` with its message and TTL),
// composeMessage, uuidv7, emailJobOptions and the Bull queue names; only the few lines of
// EmailPreparer.build that fill in the record are repeated here. `compareWithApi` checks the result field
// by field against an email the API accepted.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Bull from 'bull';
import Redis from 'ioredis';

const require = createRequire(import.meta.url);

/** The product's defaults (EMAIL_RETENTION_DAYS, MAX_ATTEMPTS), which the benchmark leaves unset. */
const RETENTION_DAYS = 7;
const MAX_ATTEMPTS = 3;

function productModules(distDir) {
  const dist = (path) => require(join(distDir, path));
  return {
    ...dist('emails/email.store.js'),
    ...dist('emails/group-data.store.js'),
    ...dist('redis/redis-keys.js'),
    ...dist('queue/email-queue.js'),
    ...dist('queue/queue-names.js'),
    ...dist('emails/email-composer.js'),
    ...dist('common/ids.js'),
  };
}

/**
 * Adds `count` waiting emails of `priority`, as if `service` had POSTed `email` that many times: per chunk,
 * the records (one MULTI each, as the API writes them), then the chunk's jobs with one `queue.addBulk`.
 */
export async function fillDirect({
  dist,
  redisUrl,
  prefix,
  priority,
  count,
  email,
  service,
  from,
  chunk = 1000,
}) {
  const m = productModules(dist);
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const connections = { client };
  const keys = new m.RedisKeys(prefix);
  const config = { email: { retentionDays: RETENTION_DAYS } };
  const store = new m.EmailStore(connections, keys, new m.GroupDataStore(connections, keys, config), config);
  const queue = new Bull(m.EMAIL_QUEUES[priority], {
    prefix,
    createClient: (type) =>
      type === 'client'
        ? client
        : new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false }),
  });
  // What the validation pipe hands the service: recipients as { email } objects.
  const dto = { ...email, to: email.to.map((address) => ({ email: address })), priority };
  try {
    for (let done = 0; done < count; done += chunk) {
      const emails = Array.from({ length: Math.min(chunk, count - done) }, () => {
        const now = Date.now();
        const message = m.composeMessage(dto, from);
        return {
          message,
          record: {
            id: m.uuidv7(now),
            status: 'queued',
            priority,
            service,
            requestId: randomUUID(),
            createdAt: now,
            attempts: 0,
            maxAttempts: MAX_ATTEMPTS,
            to: message.to.map((a) => a.email),
            subject: message.subject,
            tags: message.tags,
            metadata: message.metadata,
          },
        };
      });
      await store.createMany(emails);
      await queue.addBulk(emails.map(({ record }) => ({ data: {}, opts: m.emailJobOptions(record.id, 0) })));
    }
  } finally {
    await queue.close();
    client.disconnect();
  }
}

/**
 * Differences between what the API stored for `apiId` and what fillDirect stored for `directId` (record
 * hash and Bull job hash), ignoring the values that differ between any two emails. Empty means faithful.
 */
export async function compareWithApi(redis, { prefix, priority, apiId, directId }) {
  const queue = `${prefix}:emails-${priority}`;
  const perEmail = new Set(['requestId', 'createdAt', 'timestamp']);
  const differences = [];
  for (const [what, apiKey, directKey] of [
    ['record', `${prefix}:email:${apiId}`, `${prefix}:email:${directId}`],
    ['job', `${queue}:${apiId}`, `${queue}:${directId}`],
  ]) {
    const [api, direct] = await Promise.all([redis.hgetall(apiKey), redis.hgetall(directKey)]);
    if (what === 'job') {
      api.opts = comparableOpts(api.opts);
      direct.opts = comparableOpts(direct.opts);
    }
    for (const field of new Set([...Object.keys(api), ...Object.keys(direct)])) {
      if (!perEmail.has(field) && api[field] !== direct[field]) {
        differences.push(`${what}.${field}: API ${api[field]} ≠ direct ${direct[field]}`);
      }
    }
    const [apiTtl, directTtl] = await Promise.all([redis.pttl(apiKey), redis.pttl(directKey)]);
    if (Math.abs(apiTtl - directTtl) > 3_600_000)
      differences.push(`${what} TTL: API ${apiTtl} ≠ direct ${directTtl}`);
  }
  return differences;
}

/** A job's options without what is per job by nature (its id, its timestamp). */
function comparableOpts(json) {
  if (!json) return json;
  const { jobId: _id, timestamp: _at, ...opts } = JSON.parse(json);
  return JSON.stringify(opts);
}
