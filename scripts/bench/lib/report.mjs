// What a run reports: the machine, the versions, and per benchmark a table of rows
// { label, reqPerSec, p99Ms, vs?: { key, label }, goal? } with each row's ratios to the row it names.
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';

export function machine(redisVersion) {
  const cores = cpus();
  return {
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    cpuCount: cores.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${process.platform} ${release()}`,
    node: process.version,
    redis: redisVersion,
  };
}

export function versions(root, names) {
  return Object.fromEntries(
    names.map((name) => {
      try {
        return [
          name,
          JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version,
        ];
      } catch {
        return [name, 'not installed'];
      }
    }),
  );
}

/** Adds reqRatio, p99Ratio and goalMet to every row that names a reference row. */
export function withRatios(rows) {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  return rows.map((row) => {
    const ref = row.vs && byKey.get(row.vs.key);
    if (!ref) return row;
    // A row may bring its own ratios (e.g. a median of paired ratios); otherwise: row ÷ reference row.
    const reqRatio = row.reqRatio ?? row.reqPerSec / ref.reqPerSec;
    return {
      ...row,
      reqRatio,
      p99Ratio: row.p99Ratio ?? row.p99Ms / ref.p99Ms,
      ...(row.goal !== undefined ? { goalMet: reqRatio >= row.goal } : {}),
    };
  });
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (n) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** The rows as a text table (also valid Markdown). */
export function table(rows) {
  const header = [
    'measurement',
    'req/s',
    'per-second min–max',
    'p99 ms',
    'req/s ratio',
    'p99 ratio',
    'goal (req/s ratio)',
    'Redis µs/accept',
    'CPU % of a core: app / redis / load gen / other',
  ];
  const lines = rows.map((row) => [
    row.label,
    int(row.reqPerSec),
    row.perSecond ? `${int(row.perSecond.min)}–${int(row.perSecond.max)}` : 'n/a',
    int(row.p99Ms),
    row.reqRatio === undefined ? '—' : `${ratio(row.reqRatio)} × ${row.vs.label}`,
    row.p99Ratio === undefined ? '—' : `${ratio(row.p99Ratio)} × ${row.vs.label}`,
    row.goal === undefined ? '' : `≥ ${row.goal.toFixed(2)} ${row.goalMet ? 'met' : 'MISSED'}`,
    row.redisUsPerAccept === undefined ? 'n/a' : row.redisUsPerAccept.toFixed(1),
    cpuCell(row.cpu),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = [false, true, true, true, false, false, false, true, true];
  const format = (cells) =>
    `| ${cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

/**
 * Above this much CPU (% of one core) used by anything but the app, Redis and the load generator, a
 * measurement shared the machine with other work: its row is flagged. A quiet machine shows about 10.
 */
export const CONTENDED_OTHER_CPU = 25;

export const isContended = (row) => (row.cpu?.other ?? 0) > CONTENDED_OTHER_CPU;

/** "app / redis / load generator / other", each in % of one core; ⚠ when other work contended. */
function cpuCell(cpu) {
  if (!cpu || cpu.app === undefined) return 'n/a';
  const steal = cpu.machineSteal ? ` (steal ${cpu.machineSteal})` : '';
  const flag = cpu.other > CONTENDED_OTHER_CPU ? ' ⚠' : '';
  return `${cpu.app} / ${cpu.redis} / ${cpu['load generator']} / ${cpu.other}${steal}${flag}`;
}
