// Runs one Jest project: `node scripts/jest.mjs unit|e2e [jest args…]`. Nest 12's packages are ES modules, which
// Jest loads only with --experimental-vm-modules; and file filters must come before --selectProjects, which
// would otherwise take them for project names.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const [project, ...args] = process.argv.slice(2);
if (project !== 'unit' && project !== 'e2e') {
  console.error('usage: node scripts/jest.mjs unit|e2e [jest args…]');
  process.exit(2);
}
const jest = join(import.meta.dirname, '..', 'node_modules', 'jest', 'bin', 'jest.js');
const result = spawnSync(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    jest,
    ...args,
    // End-to-end suites run one at a time (they start processes and measure them). A suite that fails half way
    // can leave a child's socket open; --forceExit ends the run with its verdict instead of waiting on it.
    ...(project === 'e2e' ? ['--runInBand', '--forceExit'] : []),
    '--selectProjects',
    project,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
