/**
 * Every failure type is spelled once, in domain/errors.ts: code that raises, matches or lists one
 * uses FAILURE_TYPES, so a renamed type cannot leave a silently dead string comparison behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FAILURE_TYPES } from '../../domain/errors';
import { REPO_ROOT, tsFilesIn } from '../support/sources';

const DIRS = [
  'activities',
  'api',
  'cli',
  'db',
  'domain',
  'security',
  'vault',
  'workers',
  'workflows',
  'scripts',
];
const DEFINITION = path.join('domain', 'errors.ts');

test('no source outside domain/errors.ts spells a failure type as a string literal', () => {
  const literal = new RegExp(`(['"\`])(${Object.values(FAILURE_TYPES).join('|')})\\1`);
  const loose: string[] = [];
  for (const dir of DIRS) {
    for (const rel of tsFilesIn(dir)) {
      if (rel === DEFINITION) continue;
      fs.readFileSync(path.join(REPO_ROOT, rel), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (literal.test(line)) loose.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
  }
  expect(loose).toEqual([]);
});
