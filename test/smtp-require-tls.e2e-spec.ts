import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { selfSignedCertificate } from './support/self-signed-certificate';
import { SmtpSink } from './support/smtp-sink';

type Api = ReturnType<typeof client>;

/**
 * Outbound SMTP in production (a bare start: no ENVIRONMENT), where STARTTLS is required unless
 * SMTP_REQUIRE_TLS=false: a server that does not offer it gets no message, one that does gets it encrypted.
 */
describe('outbound SMTP requires TLS in production (api,worker process, real SMTP sinks)', () => {
  let redis: PrivateRedis;
  let plain: SmtpSink;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    [redis, plain] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
  });
  afterEach(async () => {
    await app?.stop();
    app = undefined;
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), redis?.stop()]);
  });

  const startProduction = async (sink: SmtpSink, extra: Record<string, string> = {}) => {
    app = await AppProcess.start({
      role: 'api,worker',
      env: { ...baseEnv(redis, sink), ENVIRONMENT: undefined, MAX_ATTEMPTS: '2', ...extra },
    });
    return client(app.baseUrl, TOKENS.billing);
  };

  const send = async (api: Api, subject: string) => {
    const accepted = await api.post('/api/v1/emails', { to: ['ana@example.com'], subject, text: 'Hello' });
    expect(accepted.status).toBe(202);
    return String(accepted.body.id);
  };

  /** The email once it is sent or dead (with MAX_ATTEMPTS=2 a refusal ends it within a second). */
  const settled = async (api: Api, id: string) => {
    let email: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        email = (await api.get(`/api/v1/emails/${id}`)).body;
        return email.status === 'sent' || email.status === 'dead';
      },
      15_000,
      `email ${id} to be sent or dead`,
    );
    return email;
  };

  it('sends nothing to a server without STARTTLS, and says why on the email', async () => {
    const api = await startProduction(plain);
    const id = await send(api, 'Not in plaintext');
    expect(await settled(api, id)).toMatchObject({
      status: 'dead',
      attempts: 2,
      lastError: expect.stringMatching(
        /^TLS with the SMTP server failed, nothing was sent in plaintext: Error upgrading connection with STARTTLS/,
      ),
    });
    // Both attempts were made and failed before MAIL FROM: not one message reached the server.
    expect(plain.accepted).toBe(0);
  });

  it('sends in plaintext when SMTP_REQUIRE_TLS=false says so', async () => {
    const api = await startProduction(plain, { SMTP_REQUIRE_TLS: 'false' });
    const id = await send(api, 'Plaintext allowed');
    expect(await settled(api, id)).toMatchObject({ status: 'sent' });
    expect(plain.find(id)).toMatchObject({ secure: false });
  });

  it('sends over STARTTLS to a server that offers it, checking its certificate', async () => {
    const certificate = selfSignedCertificate('smtp.relay.test', 2, '127.0.0.1');
    const dir = mkdtempSync(join(tmpdir(), 'freeface-relay-'));
    writeFileSync(join(dir, 'relay-ca.pem'), certificate.pem);
    const key = certificate.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const tls = await SmtpSink.start({ tls: { cert: certificate.pem, key } });
    try {
      const untrusting = await startProduction(tls);
      const refused = await send(untrusting, 'Unknown certificate');
      expect(await settled(untrusting, refused)).toMatchObject({
        status: 'dead',
        lastError: expect.stringMatching(/^self-signed certificate/),
      });
      await app?.stop();

      // The relay's certificate is trusted the way an operator trusts a private CA: NODE_EXTRA_CA_CERTS.
      const api = await startProduction(tls, { NODE_EXTRA_CA_CERTS: join(dir, 'relay-ca.pem') });
      const id = await send(api, 'Encrypted');
      expect(await settled(api, id)).toMatchObject({ status: 'sent' });
      expect(tls.find(id)).toMatchObject({ secure: true });
      expect(tls.accepted).toBe(1);
    } finally {
      await app?.stop();
      app = undefined;
      await tls.stop();
    }
  });
});
