/**
 * Where a key's Redis Cluster hash tag is, as Redis finds it: between the first `{` and the next `}`, when
 * something is between them (`{}` is no tag: the whole key is hashed). Undefined when the key has none.
 */
export function hashTagBounds(key: string): { start: number; end: number } | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? { start: open + 1, end: close } : undefined;
}
