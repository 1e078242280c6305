import 'reflect-metadata';
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceTokenVerifier } from '../../auth/service-token.verifier';
import { generateToken } from '../../auth/token-format';
import { loadConfig } from '../../config/load-config';
import type { PrometheusMetrics } from './prometheus-metrics';
import { serveMetrics } from './metrics-endpoint';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'metrics-endpoint-spec-'));
  writeFileSync(join(dir, 'logging.yaml'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tokens = { reader: generateToken('dev'), sender: generateToken('dev') };
const EXPOSITION = '# HELP up_total x\n# TYPE up_total counter\nup_total 1\n';
const metrics = {
  exposition: () =>
    Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: EXPOSITION }),
} as unknown as PrometheusMetrics;

function server(env: Record<string, string | undefined> = {}): { app: FastifyInstance; refused: string[] } {
  const config = loadConfig(
    {
      ENVIRONMENT: 'development',
      LOG_CONFIG: join(dir, 'logging.yaml'),
      SERVICE_TOKEN_READER_PRIMARY: tokens.reader,
      SERVICE_TOKEN_READER_SCOPES: 'read',
      SERVICE_TOKEN_SENDER_PRIMARY: tokens.sender,
      SERVICE_TOKEN_SENDER_SCOPES: 'send',
      ...env,
    },
    new Set(['worker']),
  );
  const app = Fastify();
  const refused: string[] = [];
  serveMetrics(app, {
    metrics,
    verifier: new ServiceTokenVerifier(config),
    config,
    onRefused: (reason) => refused.push(reason),
  });
  return { app, refused };
}

const get = (app: FastifyInstance, headers: Record<string, string | undefined> = {}) =>
  app.inject({ method: 'GET', url: '/metrics', headers });

describe('serveMetrics', () => {
  it('serves the exposition to a token with the read scope (Bearer or X-Service-Token)', async () => {
    const { app } = server();
    for (const headers of [
      { authorization: `Bearer ${tokens.reader}` },
      { 'x-service-token': tokens.reader },
    ]) {
      const response = await get(app, headers);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toBe(EXPOSITION);
    }
  });

  it('answers 401 problem+json without a token, and for an unknown or malformed one', async () => {
    const { app, refused } = server();
    for (const headers of [
      {},
      { authorization: `Bearer ${generateToken('dev')}` },
      { authorization: 'Bearer st_dev_nope' },
    ]) {
      const response = await get(app, headers);
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({ type: 'urn:freeface:problem:unauthorized', status: 401 });
      expect(response.body).not.toContain('up_total');
    }
    expect(refused).toEqual(['unknown', 'malformed']);
  });

  it('answers 403 to a token without the read scope', async () => {
    const response = await get(server().app, { authorization: `Bearer ${tokens.sender}` });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ type: 'urn:freeface:problem:forbidden' });
  });

  it('is open with METRICS_AUTH=false, and when authentication is off altogether', async () => {
    for (const env of [{ METRICS_AUTH: 'false' }, { SERVICE_AUTH_ENABLED: 'false' }]) {
      const response = await get(server(env).app);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe(EXPOSITION);
    }
  });
});
