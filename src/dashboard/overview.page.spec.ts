import type { Overview } from './overview';
import { renderOverviewPage } from './overview.page';
import { FIELD_FORMATS, readField } from './page/format';
import type { OverviewData } from './page/overview-data';

const ASSETS = {
  script: 'assets/dashboard.js?v=1',
  style: 'assets/dashboard.css?v=1',
  chartScript: 'assets/uPlot.iife.min.js?v=1',
  chartStyle: 'assets/uPlot.min.css?v=1',
  icon: 'assets/favicon.svg?v=1',
};
const OPTIONS = { assets: ASSETS, isOpen: false, refreshSeconds: 5 };
const COUNTS = { waiting: 2, active: 1, delayed: 0, completed: 1234, failed: 0 };
const XSS = '<img src=x onerror=alert(1)>';

function overview(): Overview {
  return {
    generatedAt: '2026-11-26T10:00:03.120Z',
    redisAvailable: true,
    summary: {
      waiting: 6,
      active: 3,
      delayed: 0,
      scheduled: 4,
      deadLetters: 1,
      sentLastHour: 1500,
      failedLastHour: 2,
    },
    queues: {
      queues: { high: COUNTS, medium: COUNTS, low: COUNTS },
      scheduled: 4,
      deadLetters: 1,
      providers: {
        smtp: {
          inChain: true,
          circuit: {
            state: 'open',
            consecutiveFailures: 5,
            openUntil: '2026-11-26T10:01:00.000Z',
            timesOpened: 1,
          },
          rateLimit: { limit: '10/s', burst: 10, tokens: 7.5 },
        },
      },
      pausedWebhooks: 1,
    },
    throughput: { minutes: [1, 2], sent: [1000, 500], failed: [2, 0], totals: { sent: 1500, failed: 2 } },
    deadLetters: {
      items: [
        {
          id: '019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d',
          service: `billing${XSS}`,
          priority: 'medium',
          provider: 'smtp',
          attempts: 1,
          maxAttempts: 3,
          lastError: `550 5.1.1 ${XSS} rejected`,
          deadAt: '2026-11-26T09:59:00.000Z',
          createdAt: '2026-11-26T09:58:59.000Z',
          to: ['nobody@example.com', 'other@example.com'],
          subject: `Invoice </script><script>alert(1)</script>`,
        },
      ],
      total: 1,
    },
    services: {
      [`reports${XSS}`]: {
        calls: 12,
        emailsAccepted: 10,
        emailsSent: 9,
        emailsFailed: 1,
        emailsDead: 0,
        endpoints: {},
        lastCallAt: '2026-11-26T10:00:00.000Z',
      },
    },
    deliveryEvents: {
      suppressedAddresses: 3,
      webhooks: 2,
      pausedWebhooks: 1,
      deliveries: { pending: 1, succeeded: 2_048, failed: 5 },
      queue: { waiting: 0, delayed: 1, active: 0 },
    },
    smtpIngress: { sessions: 12, accepted: 1_234, refused: 3, authFailures: 1 },
    redis: {
      version: '7.0.15',
      uptimeSeconds: 90_061,
      usedMemoryHuman: '1.13M',
      usedMemoryPeakHuman: '2.05M',
      opsPerSecond: 42,
      connectedClients: 7,
      keys: 130,
    },
  };
}

/** The overview a page embeds, as its script reads it back. */
function embedded(page: string): unknown {
  const json = /<script type="application\/json" id="overview-data">([\s\S]*?)<\/script>/.exec(page);
  return JSON.parse(json![1]!);
}

describe('renderOverviewPage', () => {
  it('embeds the overview as JSON that no value can close or turn into markup', () => {
    const page = renderOverviewPage(overview(), OPTIONS);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>alert(1)');
    // uPlot's script, the page's module and the JSON: a subject cannot close the JSON's element early.
    expect(page.match(/<\/script>/g)).toHaveLength(3);
    expect(embedded(page)).toEqual(overview());
  });

  it('is a shell: it writes no value, the script fills every cell and table from the JSON', () => {
    const page = renderOverviewPage(overview(), OPTIONS);
    const cells = [...page.matchAll(/<span data-field="[^"]+" data-format="[^"]+">([^<]*)<\/span>/g)];
    expect(cells.length).toBeGreaterThan(30);
    expect(cells.map((cell) => cell[1])).toEqual(cells.map(() => ''));
    for (const body of ['dead-letters', 'providers', 'services']) {
      expect(page).toContain(`<tbody id="${body}"></tbody>`);
    }
    const shell = page.replace(/<script type="application\/json"[\s\S]*?<\/script>/, '');
    for (const value of [
      '1,500',
      '1,234',
      '1 d 1 h',
      'billing',
      'reports',
      'Invoice',
      '10:00:03',
      'nobody@',
    ]) {
      expect({ value, found: shell.includes(value) }).toEqual({ value, found: false });
    }
  });

  it('names only fields of the overview, in formats the script knows', () => {
    // The compiler checks that the server's overview is what the script reads.
    const data: OverviewData = overview();
    const page = renderOverviewPage(overview(), OPTIONS);
    const cells = [...page.matchAll(/data-field="([^"]+)" data-format="([^"]+)"/g)];
    for (const [, path, format] of cells) {
      expect({ path, value: readField(data, path!) }).not.toEqual({ path, value: undefined });
      expect(FIELD_FORMATS).toContain(format);
    }
  });

  it('links its own assets only, its script as a module, and says it needs JavaScript', () => {
    const page = renderOverviewPage(overview(), OPTIONS);
    const urls = [...page.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.filter((url) => /^(https?:)?\/\//.test(url!))).toEqual([]);
    expect(page).toContain('<script type="module" src="assets/dashboard.js?v=1"></script>');
    expect(page).toMatch(/<noscript>\s*<p class="banner bad">\s*The dashboard needs JavaScript/);
    // Shown by the script once it knows whether Redis answers.
    expect(page).toMatch(/id="redis-down"[^>]* hidden>/);
    expect(page).not.toContain('Open dashboard');
  });

  it('warns when the dashboard is open (no credentials configured)', () => {
    expect(renderOverviewPage(overview(), { ...OPTIONS, isOpen: true })).toContain('Open dashboard');
  });
});
