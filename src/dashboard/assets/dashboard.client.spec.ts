import { Script } from 'node:vm';
import { DASHBOARD_SCRIPT } from './dashboard.client';

describe('DASHBOARD_SCRIPT', () => {
  it('is valid JavaScript', () => {
    // Compiled, not run: the browser test runs it.
    expect(() => new Script(DASHBOARD_SCRIPT, { filename: 'dashboard.js' })).not.toThrow();
  });

  it('sets the header that the retry route requires, and builds rows from text only', () => {
    expect(DASHBOARD_SCRIPT).toContain("'x-requested-with': 'FreeFaceDashboard'");
    expect(DASHBOARD_SCRIPT).not.toContain('innerHTML');
    expect(DASHBOARD_SCRIPT).not.toContain('insertAdjacentHTML');
  });
});
