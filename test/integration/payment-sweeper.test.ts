/**
 * The stuck-payment sweeper on the real stack: it repairs what the provider did and the projection
 * missed through the payment workflow (signal `repair`), re-projects a projection left behind, and
 * reports what it cannot repair as a merchant event (`payment.needs_attention`) and an audit entry,
 * once. Its Schedule exists after `ensureSweeperSchedule` (what the payment worker runs at start).
 * The sweeper workflow is started with the client here, not waited for on the Schedule.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { workflowIdOf } from '../../api/payments-service';
import { ensureSweeperSchedule, sweeperInput, type SweeperScheduleConfig } from '../../workers/sweeper';
import { getPaymentQuery } from '../../workflows/payment';
import { repairSignal } from '../../workflows/payment-repair';
import { paymentSweeperWorkflow, type SweeperInput } from '../../workflows/payment-sweeper';
import { type CliConfig } from '../../config/shapes';
import { loadCliConfig } from '../../config/load';
import { paymentCommands } from '../../cli/payments';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { findCardNumber } from '../../security/redaction';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor, eventsOf, sandboxBooks, type Api } from './payments-support';

jest.setTimeout(90_000);

let stack: Stack;
let api: Api;
let clientId: string;
let cfg: SweeperScheduleConfig;
let cli: CliConfig;
const keys = testKeyEnv();

beforeAll(async () => {
  stack = await startStack({ keys });
  const auth = await stack.serviceAuth();
  clientId = auth.clientId;
  api = apiFor(stack, auth.authorization);
  cfg = {
    taskQueue: stack.taskQueue,
    cardTaskQueue: stack.cardTaskQueue,
    intervalMinutes: 5,
    staleAfterMinutes: 15,
    batchSize: 50,
    maxBatches: 4,
  };
  cli = loadCliConfig({
    ...keys,
    DATABASE_URL: testEnv().runtimeDatabaseUrl,
    TEMPORAL_ADDRESS: testEnv().temporalAddress,
    SETTLE_TASK_QUEUE: stack.taskQueue,
    SETTLE_CARD_TASK_QUEUE: stack.cardTaskQueue,
    USER: 'sweeper-test',
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** One sweeper run as the Schedule starts it, except that every payment counts as settled. */
async function sweep(extra: Partial<SweeperInput> = {}) {
  const handle = await stack.client.workflow.start(paymentSweeperWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: `payment-sweeper-test-${randomBytes(4).toString('hex')}`,
    // This merchant's payments only: the run's other test files leave live payments in the database.
    args: [sweeperInput(cfg, { staleAfterMs: 0, clientId, ...extra })],
  });
  return Object.assign(await handle.result(), { workflowId: handle.workflowId });
}

/** RECORD_REPLAY=1 keeps a workflow's history in the replay corpus (payloads decoded, card-free). */
async function record(workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_REPLAY) return;
  const history = await decodeHistoryPayloads(
    await stack.client.workflow.getHandle(workflowId).fetchHistory(),
  );
  const text = historyFileText(history);
  expect(findCardNumber(JSON.parse(text))).toBeUndefined();
  fs.writeFileSync(path.join(__dirname, '../replay/histories', `${name}.json`), text);
}

async function auditOf(resource: string) {
  const r = await stack.pool.query<{ actor: string; action: string; outcome: string; details: unknown }>(
    'SELECT actor, action, outcome, details FROM audit_events WHERE resource = $1 ORDER BY seq',
    [resource],
  );
  return r.rows;
}

test('a capture the provider has and the projection misses is repaired through the workflow', async () => {
  const created = await api.pay(1500);
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const books = await sandboxBooks(stack, id);
  // Captured at the provider behind the engine's back (as a lost answer or a dashboard capture would).
  await createSandboxProvider({ pool: stack.pool }).capture({
    paymentId: id,
    providerReference: books.tx!.reference,
    idempotencyKey: `${id}:capture:1`,
    amount: 1500,
    currency: 'USD',
    final: true,
  });
  expect((await api.get(id)).body).toMatchObject({ status: 'authorized', amountCaptured: 0 });

  const result = await sweep();

  expect(result.repaired).toContain(id);
  expect(result.unrepaired).not.toContain(id);
  expect((await api.get(id)).body).toMatchObject({
    status: 'captured',
    amountCaptured: 1500,
    amountCapturable: 0,
  });
  // The workflow holds it too (the repair was its own transition, not a write beside it) ...
  const view = await stack.client.workflow.getHandle(workflowIdOf(id)).query(getPaymentQuery);
  expect(view).toMatchObject({ status: 'captured', amountCaptured: 1500 });
  // ... announced as every transition is, and nothing was sent to the provider again.
  expect((await eventsOf(stack, id)).map((e) => e.type)).toContain('payment.captured');
  expect((await sandboxBooks(stack, id)).ops.filter((o) => o.kind === 'capture')).toHaveLength(1);
  expect(await auditOf(id)).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        actor: 'system:payment-sweeper',
        action: 'payment.repair',
        outcome: 'success',
      }),
    ]),
  );
  await record(result.workflowId, 'sweeper-repair-provider-capture');
  await record(workflowIdOf(id), 'repair-provider-capture');
});

test('a repair signal repeated applies once: the workflow judges it against its current state', async () => {
  const created = await api.pay(1100);
  const id = created.body.id as string;
  const books = await sandboxBooks(stack, id);
  await createSandboxProvider({ pool: stack.pool }).capture({
    paymentId: id,
    providerReference: books.tx!.reference,
    idempotencyKey: `${id}:capture:1`,
    amount: 1100,
    currency: 'USD',
    final: true,
  });
  const observation = await createSandboxProvider({ pool: stack.pool }).sync({ paymentId: id });
  const handle = stack.client.workflow.getHandle(workflowIdOf(id));
  const signal = {
    requestedBy: 'test',
    reproject: false,
    observation: { ...observation, provider: 'sandbox' },
  };
  await handle.signal(repairSignal, signal);
  await handle.signal(repairSignal, signal);

  // The sweeper's run ends once the workflow shows the capture, whichever signal applied it.
  await sweep({ paymentIds: [id] });

  expect(await handle.query(getPaymentQuery)).toMatchObject({ status: 'captured', amountCaptured: 1100 });
  expect((await eventsOf(stack, id)).filter((e) => e.type === 'payment.captured')).toHaveLength(1);
  expect((await api.get(id)).body).toMatchObject({ status: 'captured', amountCaptured: 1100 });
});

test('a projection left behind its workflow is written again from the workflow', async () => {
  const created = await api.pay(900);
  const id = created.body.id as string;
  expect((await api.capture(id)).body).toMatchObject({ status: 'captured' });
  // A restore from an older backup: the row shows the previous version.
  await stack.pool.query(
    `UPDATE payments SET status = 'authorized', amount_captured = 0, amount_capturable = 900,
       version = version - 1, updated_at = updated_at - interval '1 minute' WHERE id = $1`,
    [id],
  );
  expect((await api.get(id)).body).toMatchObject({ status: 'authorized' });

  const result = await sweep();

  expect(result.repaired).toContain(id);
  expect((await api.get(id)).body).toMatchObject({ status: 'captured', amountCaptured: 900 });
  const report = result.reports.find((r) => r.paymentId === id);
  expect(report?.problems).toContain('projection_behind');
});

test('a processing payment with no workflow and no provider record is reported once', async () => {
  const id = `pay_${randomBytes(12).toString('hex')}`;
  await stack.pool.query(
    `INSERT INTO payments (id, client_id, status, amount, currency, capture, provider, token, version,
       created_at, updated_at)
     VALUES ($1, $2, 'processing', 700, 'USD', 'manual', 'sandbox', 'tok_sweepertest', 1,
       now() - interval '1 hour', now() - interval '1 hour')`,
    [id, clientId],
  );

  const first = await sweep();

  expect(first.unrepaired).toContain(id);
  const report = first.reports.find((r) => r.paymentId === id);
  expect(report?.problems).toEqual(expect.arrayContaining(['no_workflow', 'provider_missing']));
  const events = (await eventsOf(stack, id)).filter((e) => e.type === 'payment.needs_attention');
  expect(events).toHaveLength(1);
  expect(events[0]!.data).toMatchObject({ paymentId: id });
  const audits = (await auditOf(id)).filter((a) => a.action === 'payment.needs_attention');
  expect(audits).toEqual([expect.objectContaining({ actor: 'system:payment-sweeper', outcome: 'failure' })]);
  const finding = await stack.pool.query('SELECT status FROM payment_sweep_findings WHERE payment_id = $1', [
    id,
  ]);
  expect(finding.rows).toEqual([{ status: 'open' }]);
  // Nothing was written to the payment itself.
  expect((await api.get(id)).body).toMatchObject({ status: 'processing' });

  // Still stuck at the next run: still open, not announced again.
  const second = await sweep();
  expect(second.unrepaired).toContain(id);
  expect((await eventsOf(stack, id)).filter((e) => e.type === 'payment.needs_attention')).toHaveLength(1);
  expect((await auditOf(id)).filter((a) => a.action === 'payment.needs_attention')).toHaveLength(1);

  expect(await runCli('stuck', [])).toMatch(
    new RegExp(`^${id}\\s+open\\s+no_workflow,provider_missing`, 'm'),
  );

  // Settled by a person (here: the row ended): the next run closes the finding.
  await stack.pool.query(`UPDATE payments SET status = 'failed' WHERE id = $1`, [id]);
  const third = await sweep();
  expect(third.unrepaired).not.toContain(id);
  const closed = await stack.pool.query('SELECT status FROM payment_sweep_findings WHERE payment_id = $1', [
    id,
  ]);
  expect(closed.rows).toEqual([{ status: 'resolved' }]);
  expect(await runCli('stuck', [])).not.toContain(id);
});

test('the Schedule exists after start, skips overlaps, and follows the configured interval', async () => {
  const own = { ...cfg, taskQueue: `${cfg.taskQueue}-schedule` };
  const handle = await ensureSweeperSchedule(stack.client, own);
  try {
    const d = await handle.describe();
    expect(d.action).toMatchObject({ workflowType: 'paymentSweeperWorkflow', taskQueue: own.taskQueue });
    expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(d.spec.intervals?.[0]?.every).toBe(5 * 60_000);
    // A restart with another interval updates the one Schedule instead of failing or adding one.
    await ensureSweeperSchedule(stack.client, { ...own, intervalMinutes: 7 });
    expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(7 * 60_000);
  } finally {
    await handle.delete();
  }
});

/** Run one CLI command and return what it printed. */
async function runCli(cmd: keyof typeof paymentCommands, args: string[]): Promise<string> {
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await paymentCommands[cmd]!(args, cli);
  } finally {
    spy.mockRestore();
  }
  return out.join('');
}

test('cli payments inspect shows the three accounts with the differences marked, resync repairs, stuck lists', async () => {
  const created = await api.pay(1200);
  const id = created.body.id as string;
  const books = await sandboxBooks(stack, id);
  await createSandboxProvider({ pool: stack.pool }).capture({
    paymentId: id,
    providerReference: books.tx!.reference,
    idempotencyKey: `${id}:capture:1`,
    amount: 1200,
    currency: 'USD',
    final: true,
  });

  const shown = await runCli('inspect', [id]);
  expect(shown).toMatch(/^! amountCaptured\s+0\s+0\s+1200/m);
  expect(shown).toMatch(/^ {2}providerReference/m);
  expect(shown).toContain('problems: provider_captured');
  expect(shown).toContain('repair: capture 1200');
  // Inspecting changed nothing.
  expect((await api.get(id)).body).toMatchObject({ status: 'authorized' });

  expect(await runCli('resync', [id])).toBe(`${id}: repaired (provider_captured)\n`);
  expect((await api.get(id)).body).toMatchObject({ status: 'captured', amountCaptured: 1200 });

  const stuckAudits = async () =>
    (
      await stack.pool.query(
        `SELECT 1 FROM audit_events WHERE actor = 'cli:sweeper-test' AND action = 'payment.stuck'`,
      )
    ).rowCount;
  const before = await stuckAudits();
  const listed = await runCli('stuck', []);
  expect(listed).not.toContain(id);
  expect(await stuckAudits()).toBe((before ?? 0) + 1);
  const actions = (await auditOf(id)).filter((a) => a.actor === 'cli:sweeper-test').map((a) => a.action);
  expect(actions).toEqual(expect.arrayContaining(['payment.inspect', 'payment.resync', 'payment.repair']));
});
