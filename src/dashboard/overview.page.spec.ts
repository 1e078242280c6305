import type { Overview } from './overview';
import { unavailableOverview } from './overview';
import { formatDuration, formatNumber, formatTime, recipients, renderOverviewPage } from './overview.page';

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

describe('renderOverviewPage', () => {
  it('escapes every value read from Redis: service names, subjects, error reasons', () => {
    const page = renderOverviewPage(overview(), OPTIONS);
    expect(page).not.toContain('<img src=x');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('billing&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('reports&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain('550 5.1.1 &lt;img src=x onerror=alert(1)&gt; rejected');
    expect(page).toContain('Invoice &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    // The embedded JSON cannot close its script element either.
    const scripts = page.match(/<\/script>/g) ?? [];
    expect(scripts).toHaveLength(3);
  });

  it('shows the figures, a Retry button per dead letter and the links to its own assets only', () => {
    const page = renderOverviewPage(overview(), OPTIONS);
    expect(page).toContain('data-field="summary.sentLastHour" data-format="number">1,500<');
    expect(page).toContain('data-field="queues.queues.high.completed" data-format="number">1,234<');
    expect(page).toContain('data-field="redis.uptimeSeconds" data-format="duration">1 d 1 h<');
    expect(page).toContain('data-field="deliveryEvents.deliveries.succeeded" data-format="number">2,048<');
    expect(page).toContain('data-field="deliveryEvents.suppressedAddresses" data-format="number">3<');
    expect(page).toContain('data-field="deliveryEvents.pausedWebhooks" data-format="number">1<');
    expect(page).toContain('data-field="smtpIngress.accepted" data-format="number">1,234<');
    expect(page).toContain(
      '<button type="button" class="retry" data-retry="019b7a52-6c1e-7d3a-9f2b-8e4c1a2b3c4d">',
    );
    expect(page).toContain('<span class="pill" data-state="open">open</span>');
    expect(page).toContain('nobody@example.com +1');
    expect(page).toMatch(
      /<time id="updated" datetime="2026-11-26T10:00:03.120Z"\s*>2026-11-26 10:00:03 UTC<\/time/,
    );
    const urls = [...page.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls.filter((url) => /^(https?:)?\/\//.test(url!))).toEqual([]);
    expect(page).not.toContain('Open dashboard');
    expect(page).toMatch(/id="redis-down"[^>]* hidden>/);
  });

  it('says Redis is unavailable instead of showing figures', () => {
    const page = renderOverviewPage(unavailableOverview('2026-11-26T10:00:00.000Z'), OPTIONS);
    expect(page).toMatch(/<span id="status" class="pill" data-state="open"\s*>Redis unavailable</);
    expect(page).not.toMatch(/id="redis-down"[^>]* hidden>/);
    expect(page).toContain('data-field="summary.waiting" data-format="number">–<');
    expect(page).toContain('Unknown while Redis is unavailable.');
  });

  it('warns when the dashboard is open (no credentials configured)', () => {
    expect(renderOverviewPage(overview(), { ...OPTIONS, isOpen: true })).toContain('Open dashboard');
  });
});

describe('formatting', () => {
  it('formats numbers, times and durations', () => {
    expect(formatNumber(1234567)).toBe('1,234,567');
    expect(formatNumber(null)).toBe('–');
    expect(formatTime('2026-11-26T10:00:03.120Z')).toBe('2026-11-26 10:00:03 UTC');
    expect(formatTime(null)).toBe('–');
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(720)).toBe('12 min');
    expect(formatDuration(5 * 3600 + 12 * 60)).toBe('5 h 12 min');
    expect(formatDuration(3 * 86_400 + 4 * 3600 + 59)).toBe('3 d 4 h');
  });

  it('names the first recipient and counts the others', () => {
    expect(recipients([])).toBe('');
    expect(recipients(['a@example.com'])).toBe('a@example.com');
    expect(recipients(['a@example.com', 'b@example.com', 'c@example.com'])).toBe('a@example.com +2');
  });
});
