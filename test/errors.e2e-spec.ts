import { generateToken } from '../src/common/token-format';
import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';

const PROBLEM_JSON = 'application/problem+json; charset=utf-8';
const INLINE = { to: ['ana@example.com'], subject: 'Hi', text: 'Hello' };

/** Every error status of the contract, each answered as problem+json with the request id. */
describe('errors as problem+json', () => {
  let redis: PrivateRedis;
  let api: AppProcess;
  let billing: ReturnType<typeof client>;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await AppProcess.start({ role: 'api', env: { ...baseEnv(redis), MAX_BODY_BYTES: '65536' } });
    billing = client(api.baseUrl, TOKENS.billing);
  });

  afterAll(async () => {
    await api?.stop();
    await redis?.stop();
  });

  function expectProblem(
    response: { status: number; headers: Headers; body: Record<string, unknown> },
    status: number,
  ) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(response.body).toMatchObject({ type: expect.stringMatching(/^urn:freeface:problem:/), status });
    expect(response.body.requestId).toBe(response.headers.get('x-request-id'));
    expect(typeof response.body.detail).toBe('string');
    expect(typeof response.body.title).toBe('string');
  }

  describe('400', () => {
    it('names each invalid field', async () => {
      const response = await billing.post('/api/v1/emails', {
        to: ['not-an-email', { email: 'bo@example.com', name: 'Bo\r\nBcc: x@evil.test' }],
        subject: 'Hi\r\nBcc: victim@example.com',
        text: 'x',
        priority: 'urgent',
        headers: { 'Content-Type': 'text/evil' },
        colour: 'blue',
      });
      expectProblem(response, 400);
      expect(response.body.type).toBe('urn:freeface:problem:validation-error');
      expect(response.body.errors).toEqual(
        expect.arrayContaining([
          { field: 'to[0]', message: 'must be an email address' },
          { field: 'to[1].name', message: 'must not contain line breaks' },
          { field: 'subject', message: 'must not contain line breaks' },
          { field: 'priority', message: 'must be one of high, medium, low' },
          {
            field: 'headers',
            message: 'header "Content-Type" is set by the service and cannot be overridden',
          },
          { field: 'colour', message: 'is not a known field' },
        ]),
      );
    });

    it.each([
      [
        'provider instructions',
        'would instruct the email provider',
        [
          'X-SES-CONFIGURATION-SET',
          'x-ses-message-tags',
          'X-SES-SOURCE-ARN',
          'X-SMTPAPI',
          'X-Mailgun-Variables',
          'X-SG-EID',
        ],
      ],
      [
        'trace fields',
        'is written by mail servers in transit',
        [
          'Received',
          'DKIM-Signature',
          'ARC-Seal',
          'Authentication-Results',
          'Resent-From',
          'resent-message-id',
        ],
      ],
    ])(
      'refuses custom headers that are %s, naming each, in one email and in a batch',
      async (_kind, why, names) => {
        for (const name of names) {
          const headers = { 'X-Campaign': 'spring', [name]: 'x' };
          const single = await billing.post('/api/v1/emails', { ...INLINE, headers });
          expectProblem(single, 400);
          expect(single.body.errors).toEqual([
            { field: 'headers', message: `header "${name}" ${why} and cannot be set` },
          ]);
          const batch = await billing.post('/api/v1/emails/batch', {
            emails: [INLINE, { ...INLINE, headers }],
          });
          expectProblem(batch, 400);
          expect(batch.body.errors).toEqual([
            { field: 'emails[1].headers', message: `header "${name}" ${why} and cannot be set` },
          ]);
        }
        // Names that only look alike are the caller's.
        const alike = {
          'X-Sesame': 'x',
          'X-SGX': 'x',
          'X-Mailgunner': 'x',
          'X-Received-By': 'x',
          Resentment: 'x',
        };
        expect((await billing.post('/api/v1/emails', { ...INLINE, headers: alike })).status).toBe(202);
      },
    );

    it('refuses a body that is not JSON', async () => {
      const response = await billing.post('/api/v1/emails', '{"to": [');
      expectProblem(response, 400);
      expect(response.body.type).toBe('urn:freeface:problem:bad-request');
    });

    it('refuses a sendAt beyond MAX_SCHEDULE_DAYS', async () => {
      const sendAt = new Date(Date.now() + 31 * 86_400_000).toISOString();
      const response = await billing.post('/api/v1/emails', { ...INLINE, sendAt });
      expectProblem(response, 400);
      expect(response.body.errors).toEqual([{ field: 'sendAt', message: 'must be at most 30 days ahead' }]);
    });

    it('refuses a provider that is not configured', async () => {
      const response = await billing.post('/api/v1/emails', { ...INLINE, provider: 'sendgrid' });
      expectProblem(response, 400);
      expect(response.body.errors).toEqual([
        { field: 'provider', message: '"sendgrid" is not configured here (smtp)' },
      ]);
    });
  });

  describe('401', () => {
    it('asks for a token when there is none', async () => {
      const response = await client(api.baseUrl).post('/api/v1/emails', INLINE);
      expectProblem(response, 401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('refuses a malformed token before any lookup', async () => {
      const mistyped = TOKENS.billing.slice(0, -1) + (TOKENS.billing.endsWith('A') ? 'B' : 'A');
      const response = await client(api.baseUrl, mistyped).get('/api/v1/templates');
      expectProblem(response, 401);
      expect(response.body.detail).toContain('malformed');
      expect(JSON.stringify(response.body)).not.toContain(mistyped);
    });

    it('refuses a well-formed token that no service has', async () => {
      const response = await client(api.baseUrl, generateToken('dev')).get('/api/v1/templates');
      expectProblem(response, 401);
      expect(response.body.detail).toBe('The service token is not recognised.');
    });

    it('refuses a live token where dev tokens are expected', async () => {
      const response = await client(api.baseUrl, generateToken('live')).get('/api/v1/templates');
      expectProblem(response, 401);
    });
  });

  describe('403', () => {
    it('refuses a send by a service with only the read scope', async () => {
      const response = await client(api.baseUrl, TOKENS.reports).post('/api/v1/emails', INLINE);
      expectProblem(response, 403);
      expect(response.body.detail).toBe('This token lacks the "send" scope needed here.');
    });
  });

  describe('404', () => {
    it('answers an unknown email id', async () => {
      expectProblem(await billing.get('/api/v1/emails/01a21629-ff7f-7ba3-892c-0441f413f070'), 404);
      expectProblem(await billing.get('/api/v1/emails/not-an-id'), 404);
    });

    it("hides another service's email, but shows it to an admin", async () => {
      const id = (await billing.post('/api/v1/emails', INLINE)).body.id as string;
      const path = `/api/v1/emails/${id}`;
      expect((await billing.get(path)).status).toBe(200);
      // Exactly what a missing email gets: nothing tells the stranger that it exists.
      const stranger = await client(api.baseUrl, TOKENS.signup).get(path);
      expectProblem(stranger, 404);
      expect(stranger.body.detail).toBe(`Email ${id} does not exist`);
      const admin = await client(api.baseUrl, TOKENS.ops).get(path);
      expect(admin.status).toBe(200);
      expect(admin.body.service).toBe('billing');
    });

    it('answers an unknown route', async () => {
      expectProblem(await billing.get('/api/v1/nothing-here'), 404);
    });

    it('answers an unknown template', async () => {
      expectProblem(await billing.get('/api/v1/templates/no-such-template'), 404);
      expectProblem(await billing.get('/api/v1/templates/..%2F..%2Fetc%2Fpasswd'), 404);
    });
  });

  describe('413', () => {
    it('refuses a body over MAX_BODY_BYTES', async () => {
      const response = await billing.post('/api/v1/emails', { ...INLINE, text: 'x'.repeat(70_000) });
      expectProblem(response, 413);
      expect(response.body.type).toBe('urn:freeface:problem:payload-too-large');
    });
  });

  describe('415', () => {
    it('refuses a body that is not application/json', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const response = await billing.post('/api/v1/emails', 'to=ana@example.com', {
          'content-type': contentType,
        });
        expectProblem(response, 415);
      }
    });
  });

  describe('422', () => {
    it('refuses an unknown template', async () => {
      const response = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        template: 'no-such',
        data: {},
      });
      expectProblem(response, 422);
      expect(response.body.errors).toEqual([
        { field: 'template', message: 'no template has this name (see GET /api/v1/templates)' },
      ]);
    });

    it('refuses data that lacks a variable the template needs', async () => {
      const response = await billing.post('/api/v1/emails', {
        to: ['ana@example.com'],
        template: 'welcome',
        data: { name: 'Ana', product: 'FreeFace' },
      });
      expectProblem(response, 422);
      expect(response.body.errors).toEqual([
        { field: 'data.actionUrl', message: 'is required by the template' },
      ]);
    });
  });

  describe('X-Request-Id', () => {
    it('echoes the caller’s request id, and makes one when absent or unusable', async () => {
      const echoed = await billing.get('/api/v1/templates', { 'x-request-id': 'trace-abc-123' });
      expect(echoed.headers.get('x-request-id')).toBe('trace-abc-123');
      const made = await billing.get('/api/v1/templates');
      expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const replaced = await billing.get('/api/v1/templates', { 'x-request-id': 'x'.repeat(500) });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('503', () => {
    it('answers 503 with Retry-After at once while Redis is down, keeps /health up, and recovers', async () => {
      await redis.pause();
      try {
        const started = Date.now();
        const response = await billing.post('/api/v1/emails', INLINE);
        expect(Date.now() - started).toBeLessThan(1000);
        expectProblem(response, 503);
        expect(response.headers.get('retry-after')).toBe('5');
        expectProblem(await billing.get('/api/v1/emails/01a21629-ff7f-7ba3-892c-0441f413f070'), 503);

        expect((await fetch(`${api.baseUrl}/health`)).status).toBe(200);
        const ready = await client(api.baseUrl).get('/health/ready');
        expectProblem(ready, 503);
        expect(ready.body.checks).toMatchObject({ redis: { status: 'down' } });
      } finally {
        await redis.resume();
      }
      await waitUntil(
        async () => (await billing.post('/api/v1/emails', INLINE)).status === 202,
        10_000,
        'recovery',
      );
      expect((await client(api.baseUrl).get('/health/ready')).status).toBe(200);
    });
  });
});
