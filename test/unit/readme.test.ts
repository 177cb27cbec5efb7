/** The README lists every configuration variable of every process: operators configure from it. */
import fs from 'node:fs';
import path from 'node:path';
import { processShapes } from '../../config/shapes';

const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

test.each([...new Set(Object.values(processShapes).flatMap((shape) => Object.keys(shape)))].map((k) => [k]))(
  'README documents %s',
  (name) => {
    expect(readme).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
  },
);
