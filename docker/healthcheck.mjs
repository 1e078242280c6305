// Container health probe: GET /health on the port of this container's role, without curl or wget.
// Exit 0 when it answers 2xx within the timeout, 1 otherwise (Docker's HEALTHCHECK convention).
// Usage: node docker/healthcheck.mjs [path]   (path defaults to /health; /health/ready for readiness)
/* global AbortSignal */
import { readFileSync } from 'node:fs';

/** The role setting the app itself uses: `--role=` on the main process's command line, else APP_ROLE, else all. */
function roleSetting() {
  try {
    // PID 1 is tini (or node); its command line holds the app's arguments either way.
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    for (let i = 0; i < args.length; i++) {
      if (args[i].startsWith('--role=')) return args[i].slice('--role='.length);
      if (args[i] === '--role' && args[i + 1]) return args[i + 1];
    }
  } catch {
    // Not Linux or no /proc: fall back to the environment.
  }
  return process.env.APP_ROLE?.trim() || 'all';
}

/** api (or all) answers on PORT; a process without the API answers on its worker, monitor or smtp probe port. */
function healthPort(setting) {
  const roles = new Set(setting.split(',').map((role) => role.trim().toLowerCase()));
  const env = process.env;
  if (roles.has('all') || roles.has('api')) return env.PORT || '3000';
  if (roles.has('worker')) return env.WORKER_HEALTH_PORT || '3001';
  if (roles.has('monitor')) return env.MONITOR_PORT || '8011';
  if (roles.has('smtp')) return env.SMTP_HEALTH_PORT || '3002';
  return env.PORT || '3000';
}

const path = process.argv[2] || '/health';
const url = `http://127.0.0.1:${healthPort(roleSetting())}${path}`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4000) });
  if (!response.ok) console.error(`${url}: HTTP ${response.status}`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
