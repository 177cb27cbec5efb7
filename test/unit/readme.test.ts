/** The README lists every configuration variable of every process (issue: "every variable listed"). */
import fs from 'node:fs';
import path from 'node:path';
import { apiShape } from '../../api/config';
import { codecShape } from '../../api/codec-server-main';
import { startShape } from '../../scripts/start-config';
import { cardWorkerShape, webhookWorkerShape, workerShape } from '../../workers/config';

const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

test.each(
  [
    ...new Set([
      ...Object.keys(apiShape),
      ...Object.keys(workerShape),
      ...Object.keys(webhookWorkerShape),
      ...Object.keys(cardWorkerShape),
      ...Object.keys(startShape),
      ...Object.keys(codecShape),
    ]),
  ].map((k) => [k]),
)('README documents %s', (name) => {
  expect(readme).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
});
