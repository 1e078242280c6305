export const ROLES = ['api', 'worker', 'monitor', 'smtp'] as const;
export type Role = (typeof ROLES)[number];

/** Where credentials are presented: the REST API, the SMTP ingress or the monitor's dashboard. */
export type AuthEntry = 'api' | 'smtp' | 'dashboard';
/** The role that serves each entry where credentials are presented. */
export const AUTH_ENTRY_ROLES: Readonly<Record<AuthEntry, Role>> = {
  api: 'api',
  smtp: 'smtp',
  dashboard: 'monitor',
};

export class RoleError extends Error {}

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The `--role=` / `--role <x>` argument, else `APP_ROLE`, else `all`. */
function rawRoleSetting(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--role=')) return arg.slice('--role='.length);
    if (arg === '--role' && argv[i + 1] !== undefined) return argv[i + 1]!;
  }
  return env.APP_ROLE?.trim() || 'all';
}

/**
 * The roles this process plays: `api`, `worker`, `monitor`, `smtp`, a comma list of them, or `all`.
 * Throws on an unknown name so that a typo never starts a process that silently does nothing.
 */
export function parseRoles(argv: readonly string[], env: NodeJS.ProcessEnv): ReadonlySet<Role> {
  const names = rawRoleSetting(argv, env)
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0) throw new RoleError('APP_ROLE: must name at least one role');
  const roles = new Set<Role>();
  for (const name of names) {
    if (name === 'all') ROLES.forEach((role) => roles.add(role));
    else if (isRole(name)) roles.add(name);
    else
      throw new RoleError(
        `APP_ROLE: unknown role "${name}"; expected all or a comma list of ${ROLES.join(', ')}`,
      );
  }
  return roles;
}
