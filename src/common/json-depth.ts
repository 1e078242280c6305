/** How deep a request body may nest: far beyond any real email or template data, far below a stack's limit. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether `value` nests objects or arrays more than `max` levels deep. Iterative, so a hostile body of
 * 100,000 nested arrays is measured without recursion; stops at the first level past `max`.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  let level: object[] = isContainer(value) ? [value] : [];
  for (let depth = 1; level.length > 0; depth++) {
    if (depth > max) return true;
    const next: object[] = [];
    for (const container of level) {
      for (const child of Array.isArray(container) ? container : Object.values(container)) {
        if (isContainer(child)) next.push(child);
      }
    }
    level = next;
  }
  return false;
}

const isContainer = (value: unknown): value is object => value !== null && typeof value === 'object';
