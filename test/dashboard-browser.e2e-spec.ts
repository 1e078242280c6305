import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AppProcess } from './support/app-process';
import { DASHBOARD, dashboardEnv, makeDeadLetter, startMonitor, waitForStatus } from './support/dashboard';
import { baseEnv, client, TOKENS } from './support/fixtures';
import { waitUntil } from './support/ports';
import { PrivateRedis } from './support/private-redis';
import { SmtpSink } from './support/smtp-sink';

/** Debian's chromium (`.ci/run` installs it); the test fails, not skips, without it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = join(__dirname, '..', 'docs', 'images', 'dashboard.png');

/** The operators' dashboard as a person sees it: a real browser on the monitor port of a running system. */
describe('dashboard in a browser (api + worker + monitor, chromium)', () => {
  let redis: PrivateRedis;
  let sink: SmtpSink;
  let api: AppProcess;
  let worker: AppProcess;
  let monitor: AppProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    [redis, sink] = await Promise.all([PrivateRedis.start(), SmtpSink.start()]);
    const env = { ...baseEnv(redis, sink), ...dashboardEnv() };
    [api, worker, monitor] = await Promise.all([
      AppProcess.start({ role: 'api', env }),
      AppProcess.start({ role: 'worker', env }),
      startMonitor(env),
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({
      httpCredentials: { username: DASHBOARD.user, password: DASHBOARD.password },
      viewport: { width: 1440, height: 900 },
    });
    context.on('request', (request) => requested.push(request.url()));
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([api?.stop(), worker?.stop(), monitor?.stop()]);
    await Promise.all([sink?.stop(), redis?.stop()]);
  });

  const dashboardUrl = (path = '/') => `http://127.0.0.1:${monitor.healthPort}${path}`;
  const card = (field: string) => page.locator(`[data-field="summary.${field}"]`).first();
  /** Waits for a summary card to show `text`: the page refreshes itself every few seconds. */
  const cardShows = (field: string, text: string) =>
    card(field)
      .filter({ hasText: new RegExp(`^${text}$`) })
      .waitFor({ timeout: 15_000 });
  const cardValue = async (field: string) => Number((await card(field).textContent())!.replace(/,/g, ''));

  it('signs in, follows live figures, retries a dead letter from its button, and loads nothing from elsewhere', async () => {
    const response = await page.goto(dashboardUrl());
    expect(response!.status()).toBe(200);
    await expect(page.title()).resolves.toBe('FreeFace · Email dashboard');
    expect(await page.locator('#status').textContent()).toBe('Live');
    expect(await cardValue('sentLastHour')).toBe(0);

    // Traffic from two services while the page is open: it must show up without a reload.
    const billing = client(api.baseUrl, TOKENS.billing);
    const signup = client(api.baseUrl, TOKENS.signup);
    const sends = [
      ...Array.from({ length: 14 }, (_, i) =>
        billing.post('/api/v1/emails', {
          to: [`customer${i}@example.com`],
          subject: `Your invoice #${1040 + i}`,
          text: 'Your invoice is attached.',
          priority: i % 3 === 0 ? 'high' : 'medium',
        }),
      ),
      ...Array.from({ length: 9 }, (_, i) =>
        signup.post('/api/v1/emails', {
          to: [`new-user${i}@example.com`],
          template: 'welcome',
          data: { name: `User ${i}`, product: 'FreeFace', actionUrl: 'https://app.example.com/start' },
          priority: i % 2 === 0 ? 'low' : 'medium',
        }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        billing.post('/api/v1/emails', {
          to: ['finance@example.com'],
          subject: `Monthly statement ${i + 1}`,
          text: 'Statement',
          sendAt: new Date(Date.now() + (i + 1) * 86_400_000).toISOString(),
        }),
      ),
    ];
    expect((await Promise.all(sends)).every((r) => r.status === 202)).toBe(true);
    await sink.waitForMessages(23);
    await cardShows('sentLastHour', '23');
    expect(await cardValue('scheduled')).toBe(3);
    expect(Number(await page.locator('#chart').getAttribute('data-sent-total'))).toBe(23);
    expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    await expect(page.locator('#services').textContent()).resolves.toMatch(/billing[\s\S]*sign-up/);

    // Two real dead letters (the SMTP sink refuses them with 550); the page lists both on its own.
    const bounced = await makeDeadLetter(billing, sink, 'Your <b>invoice</b> #1031');
    const kept = await makeDeadLetter(signup, sink, 'Confirm your email address');
    const bouncedRow = page.locator(`tr[data-id="${bounced}"]`);
    await bouncedRow.waitFor({ timeout: 15_000 });
    await page.locator(`tr[data-id="${kept}"]`).waitFor({ timeout: 15_000 });
    // What Redis holds is shown as text: the subject's markup and the SMTP reply's <address> stay characters.
    expect(await bouncedRow.locator('.subject').textContent()).toBe(
      'Your <b>invoice</b> #1031nobody@example.com',
    );
    expect(await bouncedRow.locator('b').count()).toBe(0);
    expect(await bouncedRow.locator('.error').textContent()).toContain('550 5.1.1 <nobody@example.com>');

    // Retry one from its button: it leaves the list and is delivered; the API's audit trail shows the retry.
    await page.locator(`button[data-retry="${bounced}"]`).click();
    await page.locator(`tr[data-id="${bounced}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    await expect(page.locator('#toast').textContent()).resolves.toContain('queued again');
    await waitForStatus(billing, bounced, 'sent');
    expect(sink.find(bounced)).toBeDefined();
    let events: string[] = [];
    await waitUntil(
      async () => {
        const audit = await billing.get<{ items: { event: string }[] }>(`/api/v1/audit/${bounced}`);
        events = audit.body.items.map((item) => item.event);
        // The monitor records the retry after it queues the job: the worker's `sent` may come first.
        return events.includes('sent') && events.includes('retried_from_dead_letter');
      },
      5000,
      'the audit trail of the retried email',
    );
    expect(events).toEqual(
      expect.arrayContaining(['accepted', 'attempt', 'dead_lettered', 'retried_from_dead_letter', 'sent']),
    );
    // After the next refresh the other dead letter is still listed, the retried one is not.
    await cardShows('deadLetters', '1');
    expect(await page.locator(`tr[data-id="${kept}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-id="${bounced}"]`).count()).toBe(0);

    // The queue detail (bull-board) renders under the same sign-in, from the dashboard's own files.
    await page.goto(dashboardUrl('/queues/'));
    await page.getByText('emails-high').first().waitFor({ timeout: 15_000 });

    // Back on the overview, once the toast is gone: the picture for docs/DASHBOARD.md.
    await page.goto(dashboardUrl());
    await page.locator('#chart canvas').first().waitFor();
    // The retried email is counted too once its worker has flushed its counters: 23 + 1.
    await cardShows('sentLastHour', '24');
    await page.locator('#toast').waitFor({ state: 'hidden' });
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const foreign = requested.filter((url) => !url.startsWith(`http://127.0.0.1:${monitor.healthPort}/`));
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  }, 120_000);

  it('says Redis is unavailable, from a refresh and from a fresh load, and goes live again', async () => {
    await page.goto(dashboardUrl());
    expect(await page.locator('#status').textContent()).toBe('Live');
    expect(await page.locator('#redis-down').isHidden()).toBe(true);
    await redis.pause();
    try {
      // The open page learns it from its next refresh.
      await page
        .locator('#status')
        .filter({ hasText: /^Redis unavailable$/ })
        .waitFor({ timeout: 20_000 });
      await page.locator('#redis-down').waitFor({ state: 'visible' });
      expect(await card('waiting').textContent()).toBe('–');
      expect(await page.locator('#dead-letters').textContent()).toBe('Unknown while Redis is unavailable.');
      // A page loaded now renders it from the overview it embeds, before any refresh.
      await page.goto(dashboardUrl());
      expect(await page.locator('#status').textContent()).toBe('Redis unavailable');
      expect(await page.locator('#redis-down').isVisible()).toBe(true);
      expect(await page.locator('#services').textContent()).toBe('Unknown while Redis is unavailable.');
      expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
    } finally {
      await redis.resume();
    }
    await page
      .locator('#status')
      .filter({ hasText: /^Live$/ })
      .waitFor({ timeout: 20_000 });
    expect(await page.locator('#redis-down').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  }, 90_000);
});
