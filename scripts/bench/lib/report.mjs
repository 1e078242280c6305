// What a run reports: the machine, the versions, and per benchmark a table of rows
// { label, reqPerSec, p50Ms?, p99Ms, vs?: { key, label }, goal? } with each row's ratios to the row it names.
// A row that measures something other than requests per second gives `value` and its `unit` instead of
// reqPerSec (e.g. 2,840 "B/email"), and `goalDirection: 'max'` when its goal is a ceiling (ratio ≤ goal)
// rather than a floor; p99Ms may then be absent. `vs: { value, label }` compares with a fixed figure (a target)
// instead of a row. A row that moved a known number of items gives `delivery: { expected, delivered,
// duplicates }`: anything missing or doubled fails the row (goalMet false, "MISSED"), whatever its ratio.
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

/** What a row measured: `value` when it gives one (see above), else its request rate. */
const valueOf = (row) => row.value ?? row.reqPerSec;

/** What is wrong with a row's delivery count: ["3 missing", "1 duplicate"]; empty when it is exact. */
function deliveryProblems({ expected, delivered, duplicates }) {
  const problems = [];
  if (delivered < expected) problems.push(`${int(expected - delivered)} missing`);
  if (duplicates > 0) problems.push(`${int(duplicates)} duplicate${duplicates === 1 ? '' : 's'}`);
  return problems;
}

/** Adds reqRatio, p99Ratio and goalMet to every row that names a reference; fails inexact deliveries. */
export function withRatios(rows) {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  return rows.map((row) => {
    const problems = row.delivery ? deliveryProblems(row.delivery) : [];
    if (problems.length > 0) row = { ...row, problems };
    const ref = row.vs && (row.vs.value !== undefined ? { value: row.vs.value } : byKey.get(row.vs.key));
    if (!ref) return problems.length > 0 ? { ...row, goalMet: false } : row;
    // A row may bring its own ratios (e.g. a median of paired ratios); otherwise: row ÷ reference row.
    const reqRatio = row.reqRatio ?? valueOf(row) / valueOf(ref);
    const p99Ratio = row.p99Ratio ?? (row.p99Ms === undefined ? undefined : row.p99Ms / ref.p99Ms);
    // A row may also bound its p99 (p99Goal: the most its p99 may be, as a multiple of the reference's).
    const goalMet =
      (row.goalDirection === 'max' ? reqRatio <= row.goal : reqRatio >= row.goal) &&
      (row.p99Goal === undefined || (p99Ratio !== undefined && p99Ratio <= row.p99Goal));
    return {
      ...row,
      reqRatio,
      ...(p99Ratio !== undefined ? { p99Ratio } : {}),
      ...(row.goal !== undefined ? { goalMet } : {}),
      ...(problems.length > 0 ? { goalMet: false } : {}),
    };
  });
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (n) => (n >= 10 ? n.toFixed(1) : n.toFixed(2));
/** A row's figure with its unit when it has one (small values keep a decimal: 84.6 MiB, -2.5 B/email). */
const valueCell = (row) =>
  row.unit === undefined
    ? int(row.reqPerSec)
    : `${Math.abs(valueOf(row)) < 100 ? valueOf(row).toFixed(1) : int(valueOf(row))} ${row.unit}`;

/** The rows as a text table (also valid Markdown). */
export function table(rows) {
  // Tables whose rows are all request rates keep their req/s headings.
  const units = rows.some((row) => row.unit !== undefined);
  const deliveries = rows.some((row) => row.delivery !== undefined);
  // A p50 column only for tables whose rows give one (p50Ms).
  const p50s = rows.some((row) => row.p50Ms !== undefined);
  const header = [
    'measurement',
    units ? 'value' : 'req/s',
    'per-second min–max',
    ...(p50s ? ['p50 ms'] : []),
    'p99 ms',
    units ? 'ratio' : 'req/s ratio',
    'p99 ratio',
    units ? 'goal (ratio)' : 'goal (req/s ratio)',
    'Redis µs/accept',
    'CPU % of a core: app / redis / load gen / other',
    ...(deliveries ? ['delivered'] : []),
  ];
  const lines = rows.map((row) => [
    row.label,
    valueCell(row),
    row.perSecond ? `${int(row.perSecond.min)}–${int(row.perSecond.max)}` : 'n/a',
    ...(p50s ? [row.p50Ms === undefined ? 'n/a' : row.p50Ms.toFixed(1)] : []),
    row.p99Ms === undefined ? 'n/a' : int(row.p99Ms),
    row.reqRatio === undefined ? '—' : `${ratio(row.reqRatio)} × ${row.vs.label}`,
    row.p99Ratio === undefined ? '—' : `${ratio(row.p99Ratio)} × ${row.vs.label}`,
    goalCell(row),
    row.redisUsPerAccept === undefined ? 'n/a' : row.redisUsPerAccept.toFixed(1),
    cpuCell(row.cpu),
    ...(deliveries ? [deliveryCell(row.delivery)] : []),
  ]);
  const numeric = [false, true, true, ...(p50s ? [true] : []), true, false, false, false, true, true, false];
  // Tables of other figures drop the columns none of their rows fills (p99 of a delivery rate…).
  const keep = header.map((_, i) => !units || i < 2 || lines.some((l) => !['n/a', '—', ''].includes(l[i])));
  const only = (cells) => cells.filter((_, i) => keep[i]);
  return layout(only(header), lines.map(only), only(numeric));
}

/** Pads the cells into columns, numbers aligned right. */
function layout(header, lines, numeric) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) =>
    `| ${cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [format(header), rule, ...lines.map(format)].join('\n');
}

function goalCell(row) {
  const goal =
    row.goal === undefined
      ? ''
      : `${row.goalDirection === 'max' ? '≤' : '≥'} ${row.goal.toFixed(2)}` +
        (row.p99Goal === undefined ? '' : `, p99 ≤ ${row.p99Goal.toFixed(2)}`) +
        ` ${row.goalMet ? 'met' : 'MISSED'}`;
  if (!row.problems) return goal;
  return `${goal || 'MISSED'} (${row.problems.join(', ')})`;
}

/** "4,998 of 5,000, 1 dup." */
const deliveryCell = (delivery) =>
  delivery ? `${int(delivery.delivered)} of ${int(delivery.expected)}, ${int(delivery.duplicates)} dup.` : '';

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
