/**
 * Replays every recorded history (test/replay/histories/*.json) against the current workflow code.
 * Fails when the corpus is empty or misses a flow, when any history no longer replays
 * (non-determinism), when a history holds card data, or when a file is not in Temporal's JSON
 * export format (so a history downloaded from the UI or `temporal workflow show -o json` can join
 * it as is). Record with test/replay/record.ts; see docs/replay.md.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
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
  'dispute-won',
  'dispute-lost-deadline',
  'dispute-accepted',
  'payment-dispute-withdraw-reinstate',
  'dispute-funds-resent',
  'reconciliation-discrepancies',
  'reconciliation-cancelled',
];

beforeAll(() => {
  installReplayKeyring();
  silenceSdkLogs();
});

test('the corpus is not empty and covers every flow', () => {
  expect(corpus.length).toBeGreaterThan(0);
  expect(corpus.map((c) => c.name)).toEqual(expect.arrayContaining(REQUIRED));
});

test("every file is in Temporal's JSON export format, as the SDK writes it", () => {
  for (const c of corpus) {
    const events = (c.raw as { events: Array<{ eventTime: unknown; eventType: unknown }> }).events;
    // proto3 JSON: timestamps as RFC 3339 text, enums by name (not our old {seconds, nanos} objects).
    expect([c.name, typeof events[0]?.eventTime, events[0]?.eventType]).toEqual([
      c.name,
      'string',
      'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
    ]);
    // Written back by the SDK (as record.ts and `cli workflows export` do) with every event. This
    // also needs one protobufjs install: with two, historyToJSON throws "type must be a Type".
    const rewritten = JSON.parse(historyToJSON(c.history)) as { events: unknown[] };
    expect([c.name, rewritten.events.length]).toEqual([c.name, events.length]);
  }
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
