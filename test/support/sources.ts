/**
 * The repository's TypeScript sources, for tests that read the code itself (architecture, config
 * boundaries, failure types). Paths are relative to the repository root.
 */
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '../..');

/** Every .ts file (not .d.ts) below `dir` (relative to the root), sorted; none when it is absent. */
export function tsFilesIn(dir: string): string[] {
  const abs = path.join(REPO_ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)))
    .sort();
}
