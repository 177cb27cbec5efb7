/**
 * The reconciliation API (API.md "Ledger and reconciliation", role matrix): only an admin starts a run
 * (202 `running`, Idempotency-Key as every POST), admin and auditor read runs (the exact object,
 * paged lists), a service client gets 403 either way; bad input is a 400 in the contract's shape.
 * A started run ends `matched` over the real sandbox books of real payments, and its workflow answers
 * progress.
 */
import {
  reconciliationProgressQuery,
  reconciliationWorkflowId,
  scheduledReconciliationWorkflow,
} from '../../workflows/reconciliation';
import {
  ensureReconciliationSchedule,
  scheduledReconciliationInput,
  type ReconciliationScheduleConfig,
} from '../../workers/reconciliation';
import { startStack, type Stack } from '../support/stack';
import { apiFor, newKey } from './payments-support';

jest.setTimeout(90_000);

let stack: Stack;
let admin: string;
let auditor: string;
let service: string;

beforeAll(async () => {
  stack = await startStack();
  admin = (await stack.operatorAuth('admin')).authorization;
  auditor = (await stack.operatorAuth('auditor')).authorization;
  service = (await stack.serviceAuth()).authorization;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const start = (authorization: string, body: unknown, key: string | undefined = newKey('rc')) => {
  const req = stack.http.post('/v1/reconciliation/runs').set('Authorization', authorization);
  return (key ? req.set('Idempotency-Key', key) : req).send(body as object);
};
const window = (ms = 60_000) => ({
  from: new Date(Date.now() - ms).toISOString(),
  to: new Date(Date.now() + 1000).toISOString(),
});

test('an admin starts a run; it ends matched over real payments and reads back as the contract says', async () => {
  const api = apiFor(stack, service);
  // The window holds this payment alone: the run's database is shared with every other test file.
  const from = new Date(Date.now() - 1).toISOString();
  expect((await api.pay(3100, { capture: 'automatic' })).status).toBe(201);
  const body = { provider: 'sandbox', from, to: new Date(Date.now() + 1000).toISOString() };
  const key = newKey('rc');
  const res = await start(admin, body, key);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ id: expect.stringMatching(/^rc_[0-9A-Za-z]{24}$/), status: 'running' });
  const id = res.body.id as string;

  // Same key and body: the first answer, replayed.
  const again = await start(admin, body, key);
  expect(again.status).toBe(202);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(again.body).toEqual(res.body);

  const handle = stack.client.workflow.getHandle(reconciliationWorkflowId(id));
  await handle.result();
  expect(await handle.query(reconciliationProgressQuery)).toMatchObject({ phase: 'done', checked: 1 });

  for (const who of [admin, auditor]) {
    const got = await stack.http.get(`/v1/reconciliation/runs/${id}`).set('Authorization', who);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      id,
      provider: 'sandbox',
      from: body.from,
      to: body.to,
      status: 'matched',
      checked: 1,
      discrepancies: [],
    });
  }
});

test('lists page with limit and startingAfter, newest first', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++)
    ids.push((await start(admin, { provider: 'sandbox', ...window(1000) })).body.id as string);
  const first = await stack.http.get('/v1/reconciliation/runs?limit=2').set('Authorization', auditor);
  expect(first.status).toBe(200);
  expect(first.body.hasMore).toBe(true);
  expect(first.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
  const next = await stack.http
    .get(`/v1/reconciliation/runs?limit=2&startingAfter=${ids[1]}`)
    .set('Authorization', auditor);
  expect(next.body.data[0].id).toBe(ids[0]);
});

test('role matrix: service 403 both ways, auditor read-only', async () => {
  const body = { provider: 'sandbox', ...window() };
  expect((await start(service, body)).status).toBe(403);
  expect((await start(service, body)).body.error.type).toBe('authorization');
  expect((await stack.http.get('/v1/reconciliation/runs').set('Authorization', service)).status).toBe(403);
  expect((await start(auditor, body)).status).toBe(403);
  expect((await stack.http.get('/v1/reconciliation/runs').set('Authorization', auditor)).status).toBe(200);
  expect((await stack.http.get('/v1/reconciliation/runs')).status).toBe(401);
});

test('bad input is 400 invalid_request naming the field; nothing is started', async () => {
  const before = await stack.pool.query('SELECT count(*)::int AS n FROM reconciliation_runs');
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const cases: Array<[unknown, string]> = [
    [{ provider: 'paypal', from: iso(now - 1000), to: iso(now) }, 'provider'],
    [{ provider: 'stripe', from: iso(now - 1000), to: iso(now) }, 'provider'], // not enabled here
    [{ provider: 'sandbox', from: iso(now), to: iso(now) }, 'to'],
    [{ provider: 'sandbox', from: iso(now), to: iso(now - 1000) }, 'to'],
    [{ provider: 'sandbox', from: iso(now - 40 * 86_400_000), to: iso(now) }, 'to'],
    [{ provider: 'sandbox', from: 'yesterday', to: iso(now) }, 'from'],
    [{ provider: 'sandbox', from: iso(now - 1000), to: iso(now), extra: 1 }, ''],
  ];
  for (const [body, field] of cases) {
    const res = await start(admin, body);
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request');
    expect(res.headers['request-id']).toBeTruthy();
    if (field) expect(JSON.stringify(res.body.error)).toContain(field);
  }
  const noKey = await start(admin, { provider: 'sandbox', ...window() }, '');
  expect(noKey.status).toBe(400);
  expect(noKey.body.error.code).toBe('idempotency_key_required');
  expect(
    (await stack.http.get('/v1/reconciliation/runs/rc_000000000000nothere').set('Authorization', admin))
      .status,
  ).toBe(404);
  const after = await stack.pool.query('SELECT count(*)::int AS n FROM reconciliation_runs');
  expect(after.rows[0].n).toBe(before.rows[0].n);
});

test('the daily Schedule exists and its run reconciles the previous day for each enabled provider', async () => {
  const cfg: ReconciliationScheduleConfig = {
    taskQueue: stack.taskQueue,
    cardTaskQueue: stack.cardTaskQueue,
    cron: '0 3 * * *',
    windowHours: 24,
    pageSize: 100,
    providers: ['sandbox'],
  };
  const handle = await ensureReconciliationSchedule(stack.client, cfg);
  try {
    // What the payment worker does at every start: a second ensure converges on the same Schedule.
    await ensureReconciliationSchedule(stack.client, { ...cfg, cron: '30 2 * * *' });
    const desc = await handle.describe();
    expect(desc.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'scheduledReconciliationWorkflow',
    });
    expect(desc.spec.calendars).toEqual([
      expect.objectContaining({
        hour: [{ start: 2, end: 2, step: 1 }],
        minute: [{ start: 30, end: 30, step: 1 }],
      }),
    ]);

    // One action of it, as the Schedule would start it.
    const results = await stack.client.workflow.execute(scheduledReconciliationWorkflow, {
      taskQueue: stack.taskQueue,
      workflowId: `reconciliation-test-schedule-${Date.now()}`,
      args: [scheduledReconciliationInput(cfg)],
    });
    expect(results).toHaveLength(1);
    const today = new Date();
    const to = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
    const run = await stack.http
      .get(`/v1/reconciliation/runs/${results[0]!.runId}`)
      .set('Authorization', auditor);
    expect(run.body).toMatchObject({
      provider: 'sandbox',
      from: new Date(to.getTime() - 86_400_000).toISOString(),
      to: to.toISOString(),
      status: 'matched',
    });
  } finally {
    await handle.delete();
  }
});
