import { connect } from 'node:net';
import { AppProcess } from './support/app-process';
import {
  basicAuth,
  DASHBOARD,
  dashboardEnv,
  makeDeadLetter,
  startMonitor,
  waitForStatus,
} from './support/dashboard';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

const WWW_AUTHENTICATE = 'Basic realm="FreeFace dashboard", charset="UTF-8"';
const email = (subject: string) => ({ to: ['ana@example.com'], subject, text: 'Hello' });

interface Overview {
  redisAvailable: boolean;
  summary: Record<string, number> | null;
  queues: {
    queues: Record<string, Record<string, number>>;
    providers: Record<string, { circuit: { state: string } }>;
  } | null;
  throughput: {
    minutes: number[];
    sent: number[];
    failed: number[];
    totals: { sent: number; failed: number };
  } | null;
  deadLetters: { items: { id: string; subject: string; lastError: string }[]; total: number } | null;
  services: Record<string, { emailsSent: number; emailsAccepted: number; emailsDead: number }> | null;
  redis: Record<string, unknown> | null;
}

/** The overview a page embeds for its script to render (`#overview-data`). */
function embeddedOverview(html: string): Overview {
  const json = /<script type="application\/json" id="overview-data">([\s\S]*?)<\/script>/.exec(html);
  expect(json).not.toBeNull();
  return JSON.parse(json![1]!) as Overview;
}

/** The relative imports of a page module, as the browser resolves them against its URL. */
const moduleImports = (source: string) =>
  [...source.matchAll(/(?:\bfrom|^import)\s*['"](\.\/[^'"]+)['"]/gm)].map((m) => m[1]!.slice(2));

/** The operators' dashboard of the monitor role, next to an api and a worker process on one private Redis. */
describe('dashboard (api + worker + monitor processes)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let monitor: AppProcess;
  let billing: ReturnType<typeof client>;
  let signup: ReturnType<typeof client>;

  const url = (path: string) => `http://127.0.0.1:${monitor.healthPort}${path}`;
  const authorized = { authorization: basicAuth(DASHBOARD.user, DASHBOARD.password) };
  const get = (path: string, headers: Record<string, string> = authorized) => fetch(url(path), { headers });
  const overview = async (): Promise<Overview> => {
    const response = await get('/api/overview');
    expect(response.status).toBe(200);
    return (await response.json()) as Overview;
  };
  /** A retry as the dashboard page posts it: same origin, with its custom header. */
  const pageRetry = (id: string, headers: Record<string, string> = {}) =>
    fetch(url(`/api/dead-letters/${id}/retry`), {
      method: 'POST',
      headers: {
        ...authorized,
        'x-requested-with': 'FreeFaceDashboard',
        'sec-fetch-site': 'same-origin',
        origin: `http://127.0.0.1:${monitor.healthPort}`,
        ...headers,
      },
    });

  beforeAll(async () => {
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    // Every route is tried with wrong credentials on purpose: the limit on failed logins is left to
    // dashboard-logins.e2e-spec.ts.
    const env = { ...baseEnv(redis, sink), ...dashboardEnv(), AUTH_FAILURE_LIMIT: 'off' };
    [api, worker, monitor] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      startMonitor(env),
    ]);
    billing = client(api.baseUrl, TOKENS.billing);
    signup = client(api.baseUrl, TOKENS.signup);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop(), monitor?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  it('serves /health and /health/ready without credentials', async () => {
    const health = await get('/health', {});
    expect(health.status).toBe(200);
    expect(health.headers.get('www-authenticate')).toBeNull();
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await get('/health/ready', {});
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
  });

  it('asks for credentials everywhere else, and refuses wrong ones without logging the password', async () => {
    const paths = ['/', '/api/overview', '/queues', '/queues/api/queues', '/assets/dashboard.js', '/nowhere'];
    const wrong: Record<string, string>[] = [
      {},
      { authorization: basicAuth(DASHBOARD.user, 'not-the-password') },
      { authorization: basicAuth('admin', DASHBOARD.password) },
      { authorization: `Bearer ${TOKENS.ops}` },
    ];
    for (const path of paths) {
      for (const headers of wrong) {
        const response = await get(path, headers);
        expect({ path, status: response.status }).toEqual({ path, status: 401 });
        expect(response.headers.get('www-authenticate')).toBe(WWW_AUTHENTICATE);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
        const body = await response.text();
        expect(body).not.toContain(DASHBOARD.password);
      }
    }
    const post = await fetch(url('/api/dead-letters/019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d/retry'), {
      method: 'POST',
      headers: { 'x-requested-with': 'FreeFaceDashboard' },
    });
    expect(post.status).toBe(401);

    // The log lines reach the test through the process's stdout, not always before the responses do.
    const loginFailures = () => monitor.logs().filter((l) => l.msg === 'dashboard login failed');
    await waitUntil(
      () => loginFailures().length >= paths.length * 3,
      5000,
      'every failed login to be logged',
    );
    const failures = loginFailures();
    expect(failures).toContainEqual(expect.objectContaining({ user: 'admin', level: 'warn' }));
    expect(monitor.stdout.join('\n')).not.toContain(DASHBOARD.password);
    expect(monitor.stdout.join('\n')).not.toContain('not-the-password');
  });

  it('does not serve the API on the monitor port', async () => {
    expect((await get('/api/v1/queues')).status).toBe(404);
  });

  it('shows real figures after emails are sent by two services', async () => {
    const sends = [
      ...Array.from({ length: 3 }, (_, i) => billing.post('/api/v1/emails', email(`Invoice ${i}`))),
      ...Array.from({ length: 2 }, (_, i) => signup.post('/api/v1/emails', email(`Welcome ${i}`))),
    ];
    expect((await Promise.all(sends)).map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    await sink.waitForMessages(5);

    let figures: Overview = await overview();
    // Counters reach Redis within a second of the send (the recorder flushes once a second).
    await waitUntil(
      async () => {
        figures = await overview();
        const signUp = figures.services?.['sign-up'];
        return (
          (figures.throughput?.totals.sent ?? 0) >= 5 &&
          (signUp?.emailsSent ?? 0) >= 2 &&
          (signUp?.emailsAccepted ?? 0) >= 2 &&
          (figures.services?.billing?.emailsAccepted ?? 0) >= 3
        );
      },
      10_000,
      'the overview to count 5 sent emails',
    );
    expect(figures.redisAvailable).toBe(true);
    expect(figures.throughput!.minutes).toHaveLength(60);
    expect(figures.throughput!.sent.reduce((a, b) => a + b, 0)).toBe(figures.throughput!.totals.sent);
    expect(figures.summary).toMatchObject({ sentLastHour: 5, failedLastHour: 0, deadLetters: 0, waiting: 0 });
    expect(figures.services).toMatchObject({
      billing: { emailsAccepted: 3, emailsSent: 3 },
      'sign-up': { emailsAccepted: 2, emailsSent: 2 },
    });
    expect(figures.queues!.queues.medium!.completed).toBe(5);
    expect(figures.queues!.providers.smtp!.circuit.state).toBe('closed');
    expect(figures.redis).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+/),
      uptimeSeconds: expect.any(Number),
      usedMemoryHuman: expect.any(String),
      usedMemoryPeakHuman: expect.any(String),
      opsPerSecond: expect.any(Number),
      connectedClients: expect.any(Number),
      keys: expect.any(Number),
    });
    expect(figures.redis!.keys as number).toBeGreaterThan(0);

    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<title>FreeFace · Email dashboard</title>');
    // The figures travel as JSON; the page's script writes them (test/dashboard-browser.e2e-spec.ts).
    expect(html).toContain('<span data-field="summary.sentLastHour" data-format="number"></span>');
    expect(embeddedOverview(html)).toMatchObject({
      redisAvailable: true,
      summary: { sentLastHour: 5 },
      services: { 'sign-up': { emailsAccepted: 2, emailsSent: 2 } },
    });
    // Everything it loads comes from the dashboard itself.
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    for (const asset of html.match(/assets\/[\w.]+\?v=\w+/g) ?? []) {
      const response = await get(`/${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
    }
    expect(html.match(/assets\/[\w.]+\?v=\w+/g)).toHaveLength(5);
  });

  it("serves the page's script modules, none of which writes markup, revalidated so that builds never mix", async () => {
    const html = await (await get('/')).text();
    const entry = /<script type="module" src="assets\/(dashboard\.js)\?v=(\w+)"><\/script>/.exec(html);
    expect(entry).not.toBeNull();
    const linked = await get(`/assets/dashboard.js?v=${entry![2]}`);
    expect(linked.headers.get('cache-control')).toBe('private, max-age=86400');

    const seen = new Set<string>();
    const pending = [entry![1]!];
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const response = await get(`/assets/${name}`);
      expect({ name, status: response.status }).toEqual({ name, status: 200 });
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      // Imported by a plain relative URL, without a version: the browser asks again on every load.
      expect(response.headers.get('cache-control')).toBe('private, no-cache');
      const source = await response.text();
      expect({
        name,
        markup: source.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/g),
      }).toEqual({
        name,
        markup: null,
      });
      pending.push(...moduleImports(source));

      const etag = response.headers.get('etag')!;
      expect(etag).toMatch(/^"\w+"$/);
      const unchanged = await get(`/assets/${name}`, { ...authorized, 'if-none-match': etag });
      expect(unchanged.status).toBe(304);
      expect(await unchanged.text()).toBe('');
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('lists a dead letter, refuses a retry without same-origin proof, and retries it like the API', async () => {
    const id = await makeDeadLetter(billing, sink, 'Bounced <b>invoice</b>');
    let figures = await overview();
    expect(figures.deadLetters!.total).toBe(1);
    expect(figures.deadLetters!.items[0]).toMatchObject({
      id,
      subject: 'Bounced <b>invoice</b>',
      lastError: expect.stringContaining('550 5.1.1'),
    });
    // The page embeds it as JSON, markup included, which its script shows as text (the browser test).
    const html = await (await get('/')).text();
    expect(html).not.toContain('<b>invoice');
    expect(embeddedOverview(html).deadLetters!.items[0]).toMatchObject({
      id,
      subject: 'Bounced <b>invoice</b>',
    });

    const csrf = [
      // Cross-site form posts: credentials, but no custom header.
      { headers: { ...authorized, 'content-type': 'application/x-www-form-urlencoded' }, why: 'form' },
      { headers: { ...authorized, 'content-type': 'text/plain' }, why: 'text form' },
      { headers: authorized, why: 'no header' },
      {
        headers: { ...authorized, 'x-requested-with': 'FreeFaceDashboard', origin: 'https://evil.example' },
        why: 'origin',
      },
      {
        headers: { ...authorized, 'x-requested-with': 'FreeFaceDashboard', 'sec-fetch-site': 'cross-site' },
        why: 'site',
      },
    ];
    for (const { headers, why } of csrf) {
      const response = await fetch(url(`/api/dead-letters/${id}/retry`), {
        method: 'POST',
        headers,
        body: 'x=1',
      });
      expect({ why, status: response.status }).toEqual({ why, status: 403 });
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await overview()).deadLetters!.total).toBe(1);

    expect((await pageRetry('019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d')).status).toBe(404);
    expect((await pageRetry('not-an-id')).status).toBe(404);

    const retried = await pageRetry(id);
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ id, status: 'queued' });
    await waitForStatus(billing, id, 'sent');
    expect(sink.find(id)).toBeDefined();
    expect((await pageRetry(id)).status).toBe(404);

    figures = await overview();
    expect(figures.deadLetters).toEqual({ items: [], total: 0 });
    let events: string[] = [];
    await waitUntil(
      async () => {
        const audit = await billing.get<{ items: { event: string }[] }>(`/api/v1/audit/${id}`);
        events = audit.body.items.map((item) => item.event);
        return events.includes('sent') && events.includes('retried_from_dead_letter');
      },
      5000,
      'the audit trail of the retried email',
    );
    expect(events.indexOf('dead_lettered')).toBeLessThan(events.indexOf('retried_from_dead_letter'));
    expect(monitor.logs()).toContainEqual(
      expect.objectContaining({ msg: 'dead letter retried from the dashboard', emailId: id }),
    );
    // Its death counts as a failure of its minute in the chart (counters reach Redis once a second).
    await waitUntil(
      async () => ((await overview()).throughput?.totals.failed ?? 0) >= 1,
      5000,
      'the chart to count the failure',
    );
  });

  it('serves bull-board at /queues, read-only, with its assets, behind the same credentials', async () => {
    for (const path of ['/queues', '/queues/']) {
      const page = await get(path);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<base href="/queues/" />');
      expect(html).toContain('<title>FreeFace queues</title>');
      // No web fonts from Google: the dashboard calls out to no other host.
      expect(html).not.toMatch(/https?:\/\//);
    }
    const html = await (await get('/queues/')).text();
    const assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const asset of assets) {
      const response = await get(`/queues/${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect((await get(`/queues/${asset}`, {})).status).toBe(401);
    }

    const queues = (await (await get('/queues/api/queues')).json()) as {
      queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[];
    };
    expect(queues.queues.map((q) => q.name).sort()).toEqual([
      'emails-high',
      'emails-low',
      'emails-medium',
      'webhook-deliveries',
    ]);
    expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);
    // Read-only is enforced by the server, not only hidden in the UI.
    const pause = await fetch(url('/queues/api/queues/emails-medium/pause'), {
      method: 'PUT',
      headers: authorized,
    });
    expect(pause.status).toBe(405);
  });

  it('shows "Redis unavailable" instead of failing while Redis is down, and recovers', async () => {
    await redis.pause();
    try {
      await waitUntil(
        async () => !(await overview()).redisAvailable,
        10_000,
        'the overview to see Redis down',
      );
      expect(await overview()).toMatchObject({ redisAvailable: false, summary: null, deadLetters: null });
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(embeddedOverview(await page.text())).toMatchObject({ redisAvailable: false, summary: null });
      expect((await get('/health', {})).status).toBe(200);
      expect((await get('/health/ready', {})).status).toBe(503);
    } finally {
      await redis.resume();
    }
    await waitUntil(async () => (await overview()).redisAvailable, 15_000, 'the overview to see Redis back');
  });

  it('is open, with a warning at start, when no credentials are configured (development)', async () => {
    const open = await startMonitor({ ...baseEnv(redis, sink) });
    try {
      const response = await fetch(`http://127.0.0.1:${open.healthPort}/api/overview`);
      expect(response.status).toBe(200);
      expect(open.logs()).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: expect.stringContaining('dashboard is open') }),
      );
    } finally {
      await open.stop();
    }
  });

  it('closes its port on SIGTERM and exits 0, even with a connection open that never sent a request', async () => {
    const silent = connect(monitor.healthPort, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    // Held by it, the close would run into the shutdown deadline, and the process would exit 1.
    expect(await monitor.stop()).toBe(0);
    silent.destroy();
    await expect(fetch(url('/health'))).rejects.toThrow();
    expect(monitor.logs()).toContainEqual(expect.objectContaining({ msg: 'shut down cleanly' }));
  });
});
