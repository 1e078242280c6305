/*
 * How the page writes the overview's values. No DOM here: these run under Jest too (format.spec.ts), and write
 * the same text whatever the viewer's locale and time zone.
 */

/** Written for a figure that is not known: Redis is unavailable, or it never happened. */
export const NOT_KNOWN = '–';

/** How a `data-field` cell writes its value: the cell's `data-format`. */
export const FIELD_FORMATS = ['number', 'text', 'duration'] as const;
export type FieldFormat = (typeof FIELD_FORMATS)[number];

/** `1,234`, or a dash for a figure that is not known. */
export function formatNumber(value: unknown): string {
  return typeof value === 'number' ? value.toLocaleString('en-US') : NOT_KNOWN;
}

/** `2026-11-26 10:00:03 UTC`, from the ISO time the server sends. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : NOT_KNOWN;
}

/** `3 d 4 h`, `5 h 12 min`, `12 min`, `45 s`: the two largest units are enough for an uptime. */
export function formatDuration(seconds: unknown): string {
  if (typeof seconds !== 'number') return NOT_KNOWN;
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min`;
  return `${Math.floor(seconds)} s`;
}

/** A `data-field` cell's text; an unknown format writes a number, as a cell without `data-format` does. */
export function formatField(value: unknown, format: string | undefined): string {
  if (format === 'duration') return formatDuration(value);
  if (format === 'text')
    return typeof value === 'string' || typeof value === 'number' ? String(value) : NOT_KNOWN;
  return formatNumber(value);
}

/** `ana@example.com`, or `ana@example.com +2` for several. */
export function recipients(to: readonly string[]): string {
  if (to.length === 0) return '';
  return to.length === 1 ? to[0]! : `${to[0]} +${to.length - 1}`;
}

/**
 * The value at a `data-field` path (`summary.waiting`), or undefined. Own properties only, so that a path can
 * never reach an object's prototype (`constructor`, `__proto__`).
 */
export function readField(data: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) =>
        typeof value === 'object' && value !== null && Object.hasOwn(value, key)
          ? (value as Record<string, unknown>)[key]
          : undefined,
      data,
    );
}
