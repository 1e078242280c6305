import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withoutExternalStylesheets } from './bull-board';

describe('withoutExternalStylesheets', () => {
  it("takes the Google Fonts link out of bull-board's page and leaves its own style sheet", () => {
    const template = readFileSync(
      join(require.resolve('@bull-board/ui/package.json'), '..', 'dist', 'index.ejs'),
      'utf8',
    );
    const page = withoutExternalStylesheets(template);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).toMatch(/<link href="static\/css\/main\.[0-9a-f]+\.css" rel="stylesheet">/);
  });
});
