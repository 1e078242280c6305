import type uPlot from 'uplot';
import type { OverviewData } from './overview-data.js';

declare global {
  interface Window {
    /**
     * uPlot's browser build (`assets/uPlot.iife.min.js`), a classic script the page runs before its modules;
     * only its types come from the `uplot` package, so nothing but the dashboard serves the chart's code.
     */
    uPlot?: typeof uPlot;
  }
}

const HEIGHT_PX = 240;
const MIN_WIDTH_PX = 280;
const AXIS = {
  stroke: '#6b7280',
  font: '12px system-ui, sans-serif',
  grid: { stroke: '#eef1f5', width: 1 },
  ticks: { stroke: '#e5e7eb', width: 1 },
};
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** The chart's series; without figures (Redis unavailable) the last hour's minutes with no values. */
function series(overview: OverviewData): uPlot.AlignedData {
  const { throughput } = overview;
  if (throughput) return [[...throughput.minutes], [...throughput.sent], [...throughput.failed]];
  const current = Math.floor(Date.parse(overview.generatedAt) / 60_000);
  const minutes = Array.from({ length: 60 }, (_, i) => (current - 59 + i) * 60);
  const none = minutes.map(() => null);
  return [minutes, none, none];
}

const sizeOf = (container: HTMLElement) => ({
  width: Math.max(MIN_WIDTH_PX, container.clientWidth),
  height: HEIGHT_PX,
});

function options(UPlot: typeof uPlot, container: HTMLElement): uPlot.Options {
  // One bar per minute: emails sent to the left of the minute, failed attempts to the right of it.
  const bars = (align: -1 | 1) => UPlot.paths.bars?.({ size: [0.42, 14], align });
  return {
    ...sizeOf(container),
    padding: [12, 12, 0, 4],
    tzDate: (ts) => UPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: true, range: (_u, min, max) => [min - 45, max + 45] },
      y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
    },
    axes: [
      {
        ...AXIS,
        values: (_u, splits) => splits.map((ts) => new Date(ts * 1000).toISOString().slice(11, 16)),
      },
      {
        ...AXIS,
        size: 44,
        incrs: COUNT_STEPS,
        values: (_u, splits) => splits.map((count) => count.toLocaleString('en-US')),
      },
    ],
    series: [
      { label: 'UTC' },
      {
        label: 'Sent',
        stroke: '#4f46e5',
        fill: 'rgba(79, 70, 229, 0.85)',
        width: 0,
        paths: bars(-1),
        points: { show: false },
      },
      {
        label: 'Failed attempts',
        stroke: '#dc2626',
        fill: 'rgba(220, 38, 38, 0.85)',
        width: 0,
        paths: bars(1),
        points: { show: false },
      },
    ],
  };
}

/** The "Emails per minute" bar chart, drawn once and then given new data on every refresh. */
export class ThroughputChart {
  private plot: uPlot | undefined;

  constructor(private readonly container: HTMLElement) {}

  show(overview: OverviewData): void {
    this.container.dataset.sentTotal = String(overview.throughput?.totals.sent ?? 0);
    // Without uPlot (its script failed to load) the rest of the page still shows its figures.
    const UPlot = window.uPlot;
    if (!UPlot) return;
    if (this.plot) {
      this.plot.setData(series(overview));
      return;
    }
    this.container.replaceChildren();
    const plot = new UPlot(options(UPlot, this.container), series(overview), this.container);
    window.addEventListener('resize', () => plot.setSize(sizeOf(this.container)));
    this.plot = plot;
  }
}
