/**
 * Replays every recorded history (test/replay/histories/*.json) against the current workflow code.
 * Fails when the corpus is empty or misses a flow, when any history no longer replays
 * (non-determinism), or when a history holds card data. Record with test/replay/record.ts;
 * see docs/replay.md.
 */
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../../workflows/data-converter';
import { installReplayKeyring } from '../../cli/workflows';
import { findCardNumber } from '../../security/redaction';
import { loadCorpus } from './corpus';
import { silenceSdkLogs } from '../support/temporal-test-env';

jest.setTimeout(120_000);

const corpus = loadCorpus();

/** The flows API.md describes; each needs a recorded history so a change that breaks one fails replay. */
const REQUIRED = [
  'authorize-manual',
  'authorize-automatic',
  'capture-partial-multi-final',
  'void',
  'refunds-partial-then-full',
  'refund-during-partial-capture',
  'expiry',
  'expiry-after-partial-capture',
  'decline',
  'failed-invalid-request',
  'authorize-outage-retries',
];

beforeAll(() => {
  installReplayKeyring();
  silenceSdkLogs();
});

test('the corpus is not empty and covers every flow', () => {
  expect(corpus.length).toBeGreaterThan(0);
  expect(corpus.map((c) => c.name)).toEqual(expect.arrayContaining(REQUIRED));
});

test('no recorded history carries card data', () => {
  for (const c of corpus) expect([c.name, findCardNumber(c.raw)]).toEqual([c.name, undefined]);
});

test('every recorded history replays against the current workflow code', async () => {
  const failures: string[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories(
    { workflowsPath: require.resolve('../../workflows'), dataConverter },
    corpus.map((c) => ({ workflowId: c.workflowId, history: c.history })),
  );
  for await (const r of results) {
    replayed++;
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  expect(failures).toEqual([]);
  expect(replayed).toBe(corpus.length);
});
