/**
 * The replay corpus on disk (test/replay/histories/*.json) and the card-data check shared by the
 * recorder, the CLI export and the replay test.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromCorpusJSON } from '../../cli/workflows';
import { scrubCardNumbers } from '../../security/redaction';

export const HISTORIES_DIR = path.join(__dirname, 'histories');

export interface CorpusEntry {
  name: string;
  workflowId: string;
  history: History;
}

/**
 * Path of the first value that holds a card number (Luhn-valid 13-19 digits), looking inside
 * base64 payload data too; undefined when the history is clean.
 */
export function findCardData(value: unknown, at = '$'): string | undefined {
  if (typeof value === 'string') {
    // Server-made UUIDs (run ids, request ids) are hex and hyphens: their digit runs can pass Luhn.
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return undefined;
    if (scrubCardNumbers(value) !== value) return at;
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length >= 16) {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      if (scrubCardNumbers(decoded) !== decoded) return `${at} (base64)`;
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findCardData(value[i], `${at}[${i}]`);
      if (hit) return hit;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findCardData(v, `${at}.${k}`);
      if (hit) return hit;
    }
  }
  return undefined;
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
      return { name, workflowId: name, history: historyFromCorpusJSON(raw), raw };
    });
}
