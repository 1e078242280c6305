import { AppProcess } from './support/app-process';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { PrivateRedis } from './support/private-redis';

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, { type: string; scheme?: string }>;
  };
}

describe('API documentation and templates', () => {
  let redis: PrivateRedis;
  let api: AppProcess;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    api = await AppProcess.start({ role: 'api', env: baseEnv(redis) });
  });

  afterAll(async () => {
    await api?.stop();
    await redis?.stop();
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await fetch(`${api.baseUrl}/docs`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('swagger-ui');
  });

  it('documents every endpoint with its errors and the bearer scheme at /docs-json', async () => {
    const document = (await (await fetch(`${api.baseUrl}/docs-json`)).json()) as OpenApiDocument;
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/v1/audit',
      '/api/v1/audit/{emailId}',
      '/api/v1/dead-letters',
      '/api/v1/dead-letters/retry',
      '/api/v1/dead-letters/{id}',
      '/api/v1/dead-letters/{id}/retry',
      '/api/v1/emails',
      '/api/v1/emails/batch',
      '/api/v1/emails/group',
      '/api/v1/emails/{id}',
      '/api/v1/groups',
      '/api/v1/groups/{name}',
      '/api/v1/queues',
      '/api/v1/service-metrics',
      '/api/v1/suppressions',
      '/api/v1/suppressions/{email}',
      '/api/v1/templates',
      '/api/v1/templates/{name}',
      '/api/v1/templates/{name}/preview',
      '/api/v1/webhooks',
      '/api/v1/webhooks/{id}',
      '/api/v1/webhooks/{id}/deliveries',
      '/api/v1/webhooks/{id}/deliveries/{deliveryId}/retry',
      '/api/v1/webhooks/{id}/resume',
      '/health',
      '/health/ready',
      '/metrics',
      '/webhooks/mailgun',
      '/webhooks/sendgrid',
      '/webhooks/ses',
    ]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const send = document.paths['/api/v1/emails']!.post!;
    expect(Object.keys(send.responses).sort()).toEqual([
      '202',
      '400',
      '401',
      '403',
      '413',
      '415',
      '422',
      '429',
      '503',
    ]);
    expect(send.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
    // Metrics scrapes are never rate limited (docs/RATE-LIMITS.md).
    expect(Object.keys(document.paths['/metrics']!.get!.responses)).not.toContain('429');
    expect(document.components.schemas).toHaveProperty('SendEmailDto');
    expect(document.components.schemas).toHaveProperty('ProblemResponseDto');
  });

  it('lists templates with the variables they use', async () => {
    const response = await client(api.baseUrl, TOKENS.reports).get('/api/v1/templates');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      items: [
        {
          name: 'password-reset',
          parts: ['subject', 'html', 'text'],
          variables: ['expiresInMinutes', 'name', 'product', 'resetUrl'],
        },
        { name: 'welcome', parts: ['subject', 'html'], variables: ['actionUrl', 'name', 'product'] },
      ],
      nextCursor: null,
    });
    const one = await client(api.baseUrl, TOKENS.reports).get('/api/v1/templates/welcome');
    expect(one.body).toEqual({
      name: 'welcome',
      parts: ['subject', 'html'],
      variables: ['actionUrl', 'name', 'product'],
    });
  });

  it('previews a template without sending anything', async () => {
    const data = {
      name: 'Ana',
      product: 'FreeFace',
      resetUrl: 'https://app.example.com/r/1',
      expiresInMinutes: 15,
    };
    const response = await client(api.baseUrl, TOKENS.reports).post(
      '/api/v1/templates/password-reset/preview',
      { data },
    );
    expect(response.status).toBe(200);
    expect(response.body.subject).toBe('Reset your FreeFace password');
    expect(response.body.text).toContain('The link works for 15 minutes.');
    expect(response.body.html).toContain('href="https://app.example.com/r/1"');
  });

  it('answers 422 for a preview missing a variable, and 404 for an unknown template', async () => {
    const reports = client(api.baseUrl, TOKENS.reports);
    const missing = await reports.post('/api/v1/templates/welcome/preview', { data: { name: 'Ana' } });
    expect(missing.status).toBe(422);
    expect((await reports.post('/api/v1/templates/nope/preview', { data: {} })).status).toBe(404);
  });
});
