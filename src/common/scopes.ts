export const SCOPES = ['send', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const DEFAULT_SCOPES: readonly Scope[] = ['send', 'read'];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Admin reaches every service's data, so it covers `read` and `send` as well. */
export function hasScope(granted: ReadonlySet<Scope>, required: Scope): boolean {
  return granted.has(required) || granted.has('admin');
}
