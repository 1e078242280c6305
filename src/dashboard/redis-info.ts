/** The Redis figures the dashboard shows, from `INFO` and `DBSIZE`. */
export interface RedisFigures {
  version: string | null;
  uptimeSeconds: number | null;
  usedMemoryHuman: string | null;
  usedMemoryPeakHuman: string | null;
  opsPerSecond: number | null;
  connectedClients: number | null;
  /** Keys in the database this service uses (DBSIZE). */
  keys: number | null;
}

/**
 * `INFO` output as `field → value`: one `field:value` per line, `# Section` headings and blank lines
 * skipped, CRLF or LF. A field that appears twice keeps its first value.
 */
export function parseRedisInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    if (!fields.has(name)) fields.set(name, line.slice(colon + 1));
  }
  return fields;
}

/** Keys per database from the `# Keyspace` lines (`db0:keys=12,expires=3,avg_ttl=0`). */
export function keyspaceKeys(info: Map<string, string>): Map<number, number> {
  const keys = new Map<number, number>();
  for (const [name, value] of info) {
    const db = /^db(\d+)$/.exec(name)?.[1];
    const count = /(?:^|,)keys=(\d+)/.exec(value)?.[1];
    if (db !== undefined && count !== undefined) keys.set(Number(db), Number(count));
  }
  return keys;
}

const toNumber = (value: string | undefined): number | null => {
  if (value === undefined || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

/**
 * The dashboard's Redis figures from `INFO` text and, when known, the key count of the database in use
 * (DBSIZE); without it, the keyspace line of database 0. Missing fields are null (managed Redis services
 * leave some out).
 */
export function redisFigures(infoText: string, dbSize?: number): RedisFigures {
  const info = parseRedisInfo(infoText);
  return {
    version: info.get('redis_version') ?? null,
    uptimeSeconds: toNumber(info.get('uptime_in_seconds')),
    usedMemoryHuman: info.get('used_memory_human') ?? null,
    usedMemoryPeakHuman: info.get('used_memory_peak_human') ?? null,
    opsPerSecond: toNumber(info.get('instantaneous_ops_per_sec')),
    connectedClients: toNumber(info.get('connected_clients')),
    keys: dbSize ?? keyspaceKeys(info).get(0) ?? (info.size > 0 ? 0 : null),
  };
}
