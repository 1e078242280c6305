import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** docs/ARCHITECTURE.md's source table names every folder of src/, and only folders that exist. */
describe('docs/ARCHITECTURE.md source layout', () => {
  const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `${entry.name}/`)
    .sort();
  const doc = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('## Source layout'),
    doc.indexOf('\n## ', doc.indexOf('## Source layout') + 1),
  );
  const listed = [...section.matchAll(/^\| `([a-z-]+\/)`/gm)].map((match) => match[1]!).sort();

  it('lists each folder of src/ once', () => {
    expect(listed).toEqual(folders);
  });
});
