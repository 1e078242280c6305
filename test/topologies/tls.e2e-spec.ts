import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess } from '../support/app-process';
import { baseEnv, client, TOKENS } from '../support/fixtures';
import { freePort, waitUntil } from '../support/ports';
import { RedisNode, serverArgs } from '../support/redis-topologies';
import { selfSignedCertificate } from '../support/self-signed-certificate';
import { SmtpSink } from '../support/smtp-sink';

/**
 * Redis over TLS with a certificate of a private CA, as managed services serve it: the app connects with a
 * `rediss://` URL and REDIS_TLS_CA_FILE, and refuses the same server without the CA.
 */
describe('Redis over TLS (rediss:// and REDIS_TLS_CA_FILE)', () => {
  let redis: RedisNode;
  let sink: SmtpSink;
  let caFile: string;
  let tlsPort: number;
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'freeface-redis-tls-'));
    const certificate = selfSignedCertificate('redis.test', 2, '127.0.0.1');
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, certificate.pem);
    writeFileSync(join(dir, 'key.pem'), certificate.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const port = await freePort();
    tlsPort = await freePort();
    // The plain port is the test's own, to see that the server is up; the app is given the TLS port alone.
    redis = new RedisNode(
      port,
      [
        ...serverArgs(port),
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        caFile,
        '--tls-key-file',
        join(dir, 'key.pem'),
        '--tls-ca-cert-file',
        caFile,
        '--tls-auth-clients',
        'no',
      ],
      join(dir, 'redis'),
    );
    [sink] = await Promise.all([SmtpSink.start(), redis.start()]);
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await Promise.all([sink?.stop(), redis?.kill()]);
  });

  /** The same settings (one QUEUE_PREFIX) for every process, with `extra`. */
  let base: Record<string, string>;
  const env = (extra: Record<string, string>) => ({
    ...(base ??= baseEnv({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}` }, sink)),
    ...extra,
  });

  it('sends an email through a Redis it reaches over TLS with the CA it was given', async () => {
    const [api] = await Promise.all([
      AppProcess.start({ role: 'api', env: env({ REDIS_TLS_CA_FILE: caFile }) }),
      AppProcess.start({ role: 'worker', env: env({ REDIS_TLS_CA_FILE: caFile }) }).then((w) => apps.push(w)),
    ]);
    apps.push(api);
    const accepted = await client(api.baseUrl, TOKENS.billing).post('/api/v1/emails', {
      to: ['ana@example.com'],
      subject: 'over TLS',
      text: 'x',
    });
    expect(accepted.status).toBe(202);
    await sink.waitForMessages(1);
    expect(sink.find(accepted.body.id as string)).toBeDefined();
  });

  it('does not trust the server without the CA: not ready, and says why', async () => {
    const api = await AppProcess.start({ role: 'api', env: env({}), waitReady: false });
    apps.push(api);
    await waitUntil(
      () => api.stdout.some((line) => line.includes('redis connection lost') && /certificate/i.test(line)),
      10_000,
      'the api to refuse the certificate',
    );
    expect((await fetch(`${api.baseUrl}/health/ready`)).status).toBe(503);
  });
});
