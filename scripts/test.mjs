// `npm test`: unit tests, then end-to-end tests against the built app, a private redis-server and an SMTP
// sink that the tests start themselves. Installs npm dependencies when missing; never installs system packages.
import { fail, ensureDependencies, onPath, requireNode, run } from './preflight.mjs';

requireNode();
if (!onPath('redis-server')) {
  fail(
    'redis-server is not on PATH: the end-to-end tests start a private one.\n' +
      '  Debian/Ubuntu: sudo apt-get install -y redis-server    macOS: brew install redis',
  );
}
ensureDependencies();

const extra = process.argv.slice(2);

console.log('› Building…');
run('npm', ['run', '--silent', 'build']);
console.log('› Unit tests');
run(process.execPath, ['scripts/jest.mjs', 'unit', ...extra]);
console.log('› End-to-end tests (built app, private Redis, SMTP sink)');
run(process.execPath, ['scripts/jest.mjs', 'e2e', ...extra]);
