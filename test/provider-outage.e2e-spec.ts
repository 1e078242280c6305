import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const OUTAGE_MS = 60_000;
/** The traffic during the outage: one email every this many milliseconds (a pace, not a wait for anything). */
const SEND_EVERY_MS = 2000;

/** The only provider is down for a minute while emails keep coming: none is lost, none is left stuck. */
describe('a provider outage of a minute', () => {
  it('ends every accepted email sent or dead, most of them sent once the provider is back', async () => {
    const redis = await PrivateRedis.start();
    let sink = await SmtpSink.start();
    const app = await AppProcess.start({
      role: 'all',
      env: {
        ...baseEnv(redis, sink),
        RETRY_BACKOFF_MS: '1000',
        CIRCUIT_FAILURE_THRESHOLD: '3',
        CIRCUIT_COOLDOWN_MS: '5000',
      },
    });
    const billing = client(app.baseUrl, TOKENS.billing);
    try {
      await sink.stop();
      const outageStarted = Date.now();
      const ids: string[] = [];
      while (Date.now() - outageStarted < OUTAGE_MS) {
        const response = await billing.post('/api/v1/emails', {
          to: ['ana@example.com'],
          subject: `during ${ids.length}`,
          text: 'x',
        });
        expect(response.status).toBe(202);
        ids.push(response.body.id as string);
        await new Promise((r) => setTimeout(r, SEND_EVERY_MS));
      }
      sink = await SmtpSink.start({ port: sink.port });

      const statuses = new Map<string, Record<string, unknown>>();
      await waitUntil(
        async () => {
          for (const id of ids) statuses.set(id, (await billing.get(`/api/v1/emails/${id}`)).body);
          return [...statuses.values()].every((s) => s.status === 'sent' || s.status === 'dead');
        },
        30_000,
        'every email to be sent or dead',
      );
      const sent = [...statuses.values()].filter((s) => s.status === 'sent');
      const dead = [...statuses.values()].filter((s) => s.status === 'dead');
      // The first emails spend their attempts until the circuit opens; after that, emails wait without
      // spending attempts, and go out once the provider answers again.
      expect(sent.length).toBeGreaterThan(ids.length / 2);
      for (const email of dead) expect(email.attempts).toBe(3);
      expect(new Set(sink.messages.map((m) => m.parsed.headers.get('x-email-id'))).size).toBe(sent.length);
      expect(app.logs().some((line) => line.msg === 'provider circuit opened')).toBe(true);
    } finally {
      await app.stop();
      await Promise.all([sink.stop(), redis.stop()]);
    }
  }, 150_000);
});
