/**
 * A reconciliation run always ends (API.md "Ledger and reconciliation": `running` until it is
 * `matched`, `discrepancies` or `failed`), also when its workflow does not: a cancelled workflow
 * records its run `failed` ("cancelled") before it ends; a terminated one runs no more code, and the
 * API's read closes its run `failed` once Temporal says the workflow is closed. Each run here waits on
 * a provider page no worker serves (a card queue nobody polls), so it is mid-run when it is stopped.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { createReconciliationRepo } from '../../db/reconciliation-repo';
import { findCardNumber } from '../../security/redaction';
import { reconciliationWorkflow, reconciliationWorkflowId } from '../../workflows/reconciliation';
import { startStack, type Stack } from '../support/stack';
import { waitFor } from './payments-support';

jest.setTimeout(90_000);

let stack: Stack;
let admin: string;

beforeAll(async () => {
  stack = await startStack();
  admin = (await stack.operatorAuth('admin')).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** A run as the API starts it, stuck on its first provider page (nobody polls its card queue). */
async function stuckRun() {
  const runId = `rc_${randomBytes(12).toString('hex')}`;
  const from = new Date(Date.now() - 60_000).toISOString();
  const to = new Date(Date.now() + 1000).toISOString();
  await createReconciliationRepo(stack.pool).createRun({
    id: runId,
    provider: 'sandbox',
    from,
    to,
    requestedBy: 'test',
  });
  const handle = await stack.client.workflow.start(reconciliationWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: reconciliationWorkflowId(runId),
    args: [
      {
        runId,
        provider: 'sandbox',
        from,
        to,
        cardTaskQueue: `settle-test-nobody-${randomBytes(4).toString('hex')}`,
        actor: 'test',
        pageSize: 10,
      },
    ],
  });
  // Mid-run: the first provider page is scheduled (and will never be picked up).
  await waitFor(
    async () => (await handle.fetchHistory()).events ?? [],
    (events) => events.some((e) => e.activityTaskScheduledEventAttributes),
    30_000,
    'the first provider page to be scheduled',
  );
  return { runId, handle };
}

const read = (runId: string) =>
  stack.http.get(`/v1/reconciliation/runs/${runId}`).set('Authorization', admin);

async function stored(runId: string) {
  const r = await stack.pool.query<{ status: string; error: string | null; finished_at: Date | null }>(
    'SELECT status, error, finished_at FROM reconciliation_runs WHERE id = $1',
    [runId],
  );
  return r.rows[0];
}

test('a cancelled run is recorded failed before its workflow ends', async () => {
  const { runId, handle } = await stuckRun();
  expect((await read(runId)).body.status).toBe('running');
  await handle.cancel();
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  // Written by the workflow itself, before the API's read had a say.
  expect(await stored(runId)).toMatchObject({ status: 'failed', error: 'cancelled' });
  const audit = await stack.pool.query<{ outcome: string; details: { status: string; error: string } }>(
    `SELECT outcome, details FROM audit_events WHERE action = 'reconciliation.run' AND resource = $1`,
    [runId],
  );
  expect(audit.rows).toEqual([
    { outcome: 'failure', details: expect.objectContaining({ status: 'failed', error: 'cancelled' }) },
  ]);
  const got = await read(runId);
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ id: runId, status: 'failed', checked: 0, discrepancies: [] });

  // RECORD_REPLAY=1 keeps this history in the replay corpus (the cancellation path's commands).
  if (process.env.RECORD_REPLAY) {
    const text = historyFileText(await decodeHistoryPayloads(await handle.fetchHistory()));
    expect(findCardNumber(JSON.parse(text))).toBeUndefined();
    fs.writeFileSync(path.join(__dirname, '../replay/histories', 'reconciliation-cancelled.json'), text);
  }
});

test("a terminated run stays running in the table until the API's read closes it failed", async () => {
  const { runId, handle } = await stuckRun();
  await handle.terminate('operator stopped it');
  expect((await handle.describe()).status.name).toBe('TERMINATED');
  // No workflow code ran after termination: the row still says running.
  expect(await stored(runId)).toMatchObject({ status: 'running', finished_at: null });

  const got = await read(runId);
  expect(got.status).toBe(200);
  expect(got.body).toMatchObject({ id: runId, status: 'failed', discrepancies: [] });
  expect(await stored(runId)).toMatchObject({
    status: 'failed',
    error: "the run's workflow ended terminated",
    finished_at: expect.any(Date),
  });
  // The list shows it the same, and a second read changes nothing.
  const list = await stack.http
    .get('/v1/reconciliation/runs')
    .query({ limit: 100 })
    .set('Authorization', admin);
  expect(list.body.data.find((r: { id: string }) => r.id === runId)).toMatchObject({ status: 'failed' });
});

test('a running run whose workflow is still running is shown running (the read closes only ended ones)', async () => {
  const { runId, handle } = await stuckRun();
  const list = await stack.http
    .get('/v1/reconciliation/runs')
    .query({ limit: 100 })
    .set('Authorization', admin);
  expect(list.body.data.find((r: { id: string }) => r.id === runId)).toMatchObject({ status: 'running' });
  expect((await read(runId)).body.status).toBe('running');
  await handle.terminate('test cleanup');
});
