// `npm test`: unit tests, then end-to-end tests against the built app, a private redis-server and an SMTP
// sink that the tests start themselves, and the dashboard in Chromium. Installs what is missing first: npm
// dependencies, and redis-server and Chromium where it can (apt-get as root or through sudo, Homebrew on macOS);
// elsewhere it stops at once with the command to run.
import { chromiumPath, ensureDependencies, ensureSystemPackages, requireNode, run } from './preflight.mjs';

requireNode();
ensureSystemPackages([
  {
    command: 'redis-server',
    why: 'the end-to-end tests start a private one',
    debian: 'redis-server',
    brew: 'brew install redis',
  },
  {
    name: 'chromium',
    command: () => chromiumPath() !== undefined,
    why: "the dashboard's browser test; or set CHROMIUM_PATH",
    debian: 'chromium',
    brew: 'brew install --cask chromium',
  },
]);
ensureDependencies();

const extra = process.argv.slice(2);

console.log('› Building…');
run('npm', ['run', '--silent', 'build']);
console.log('› Unit tests');
run(process.execPath, ['scripts/jest.mjs', 'unit', ...extra]);
console.log('› End-to-end tests (built app, private Redis, SMTP sink, Chromium)');
run(process.execPath, ['scripts/jest.mjs', 'e2e', ...extra], { CHROMIUM_PATH: chromiumPath() });
