/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: anything a Prometheus
 * server would refuse, or that breaks the format's rules (HELP/TYPE before samples, one group per family,
 * no duplicate series, cumulative histogram buckets ending in +Inf that match _count), throws with the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export class ExpositionError extends Error {}

/** Parses the whole exposition; every family by name. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new ExpositionError('the exposition must end with \\n');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  let current: MetricFamily | undefined;

  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, index) => {
    const fail = (why: string): never => {
      throw new ExpositionError(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // a plain comment
      const [, keyword, name, rest = ''] = match as unknown as [string, 'HELP' | 'TYPE', string, string?];
      if (!METRIC_NAME.test(name)) fail('bad metric name');
      const family = familyFor(name);
      if (keyword === 'HELP') {
        if (family.help !== undefined) fail('second HELP');
        family.help = unescapeHelp(rest, fail);
      } else {
        if (family.samples.length > 0) fail('TYPE after samples');
        if (!TYPES.has(rest.trim())) fail('unknown type');
        if (family.type !== 'untyped' || typed.has(name)) fail('second TYPE');
        family.type = rest.trim() as MetricType;
        typed.add(name);
      }
      return;
    }
    const sample = parseSample(line, fail);
    const family = familyOfSample(sample.name) ?? fail('sample of a family with no TYPE');
    if (current !== family) {
      if (current) finished.add(current.name);
      if (finished.has(family.name)) fail('samples of one family are split into groups');
      current = family;
    }
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seriesSeen.has(key)) fail('duplicate series');
    seriesSeen.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;

  // Families are announced by their HELP/TYPE lines; a sample must belong to one (with its suffix).
  function familyFor(name: string): MetricFamily {
    let family = families.get(name);
    if (!family) {
      if (current) finished.add(current.name);
      if (finished.has(name)) throw new ExpositionError(`metadata of ${name} after its samples`);
      family = { name, type: 'untyped', samples: [] };
      families.set(name, family);
      current = family;
    }
    return family;
  }

  function familyOfSample(sampleName: string): MetricFamily | undefined {
    for (const family of families.values()) {
      for (const suffix of SUFFIXES[family.type]) {
        if (family.name + suffix === sampleName) return family;
      }
    }
    return undefined;
  }
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  const nameMatch = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!nameMatch) fail('bad metric name');
  const name = nameMatch[1]!;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(rest);
      if (!label) fail('bad label');
      const [whole, labelName, rawValue, comma] = label as unknown as [string, string, string, string];
      if (!LABEL_NAME.test(labelName) || labelName.startsWith('__')) fail('reserved or bad label name');
      if (labelName in labels) fail('label given twice');
      labels[labelName] = rawValue.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(whole.length);
      if (!comma && !rest.startsWith('}')) fail('labels not separated by a comma');
    }
  }
  const valueMatch = /^ ([^ ]+)(?: (-?\d+))?$/.exec(rest);
  if (!valueMatch) fail('expected " <value> [timestamp]"');
  return { name, labels, value: parseValue(valueMatch[1]!, fail) };
}

function parseValue(text: string, fail: (why: string) => never): number {
  // As Go's strconv.ParseFloat, which Prometheus uses: Inf and NaN in any case (prom-client writes "Nan").
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail('bad value');
  return Number(text);
}

function unescapeHelp(text: string, fail: (why: string) => never): string {
  if (/\\[^\\n]/.test(text.replace(/\\\\/g, ''))) fail('bad escape in HELP');
  return text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Buckets per series: cumulative, `le` parseable, ending in +Inf equal to _count; _sum and _count present. */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new ExpositionError(`${sample.name} without le`);
      group.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
    } else if (sample.name.endsWith('_sum')) group.sum = sample.value;
    else group.count = sample.value;
  }
  for (const [key, group] of groups) {
    const where = `${family.name} ${key}`;
    if (group.sum === undefined || group.count === undefined)
      throw new ExpositionError(`${where}: _sum or _count missing`);
    const last = group.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new ExpositionError(`${where}: no le="+Inf" bucket last`);
    if (last[1] !== group.count) throw new ExpositionError(`${where}: +Inf bucket differs from _count`);
    group.buckets.reduce(
      (previous, [le, value]) => {
        if (Number.isNaN(le) || le <= previous[0] || value < previous[1])
          throw new ExpositionError(`${where}: buckets not increasing`);
        return [le, value];
      },
      [-Infinity, 0] as [number, number],
    );
  }
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (matches.length > 1)
    throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value;
}
