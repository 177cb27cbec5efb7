/**
 * The replay corpus on disk (test/replay/histories/*.json), in Temporal's JSON history export
 * format (what `temporal workflow show -o json` and the UI's Download write), payloads decoded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

export interface CorpusEntry {
  name: string;
  workflowId: string;
  history: History;
}

export function loadCorpus(dir = HISTORIES_DIR): Array<CorpusEntry & { raw: unknown }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw: unknown = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const name = f.replace(/\.json$/, '');
      // The workflow never reads its own id, so the flow name labels the replay.
      return { name, workflowId: name, history: historyFromJSON(raw), raw };
    });
}
