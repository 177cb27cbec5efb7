/**
 * Worker Versioning rehearsal on the dev server (docs/deploy.md "Worker Versioning"): v1 workers
 * run payments; v2 (a real workflow change behind patched(): test/fixtures/versioning/v2) starts
 * beside them and ramps 10% -> 100% through `deploy ramp`; payments in flight on v1 finish on v1
 * (PINNED); `deploy promote` makes v2 current; v3 (the same change without patched()) is refused by
 * the replay gate, which names the workflow and the event; `deploy rollback` returns to v1 while v2
 * payments are in flight, and those finish on v2. Across it, no payment fails and the sandbox
 * provider acted once per operation key. The `deploy` commands run in process (their console lines
 * are the log of the rehearsal).
 */
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { deployCommands, describeDeployment, type DeployTarget } from '../../cli/deploy';
import { type CliConfig } from '../../config/shapes';
import { loadCliConfig } from '../../config/load';
import { configurePayloadEncryption } from '../../vault/vault-factory';
import { createCardWorker } from '../../workers/card-worker';
import { createPaymentWorker } from '../../workers/payment-worker';
import { workerVersioning } from '../../workers/versioning';
import { paymentWorkflowId } from '../../workflows/payment-repair';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor, sandboxBooks, waitFor, type Api } from './payments-support';

jest.setTimeout(180_000);

const DEPLOYMENT = `settle-rehearsal-${process.pid}-${Date.now().toString(36)}`;
const keys = testKeyEnv();
let stack: Stack;
let api: Api;
let connection: NativeConnection;
let cfg: CliConfig;
let target: DeployTarget;
const workers: Array<{ worker: Worker; done: Promise<void> }> = [];

const log = (line: string) => process.stdout.write(`[rehearsal] ${line}\n`);

function runWorker(worker: Worker): void {
  workers.push({ worker, done: worker.run() });
}

async function versionedPaymentWorker(build: string, workflowsPath: string): Promise<void> {
  runWorker(
    await createPaymentWorker({
      connection,
      namespace: 'default',
      taskQueue: stack.taskQueue,
      pool: stack.pool,
      client: stack.client,
      code: { workflowsPath },
      versioning: workerVersioning({
        SETTLE_WORKER_VERSIONING: true,
        SETTLE_DEPLOYMENT_NAME: DEPLOYMENT,
        SETTLE_BUILD_ID: build,
      }),
    }),
  );
  // A version exists in the deployment once its worker has polled.
  await waitFor(
    () => describeDeployment(target).catch(() => undefined),
    (info) => !!info?.versionSummaries?.some((v) => v.deploymentVersion?.buildId === build),
    30_000,
    `version ${build} to register`,
  );
  log(`worker ${DEPLOYMENT}:${build} polling ${stack.taskQueue}`);
}

/**
 * A `deploy` command, in process. The gate installs its own keyrings (the CLI's, then a throwaway
 * one for replay): the workers of this process get theirs back afterwards.
 */
async function deploy(...args: string[]): Promise<void> {
  const [command, ...rest] = args;
  try {
    log(`$ npm run cli -- deploy ${args.join(' ')}`);
    await deployCommands[command!]!(rest, cfg);
  } finally {
    configurePayloadEncryption(keys, stack.pool);
  }
}

/** The build a payment's run executes on (its versioning info); the latest run without `runId`. */
async function buildOf(paymentId: string, runId?: string): Promise<string | undefined> {
  const d = await stack.client.workflow.getHandle(paymentWorkflowId(paymentId), runId).describe();
  return d.raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId ?? undefined;
}

/** The latest run of a payment once it runs on `build` (a continue-as-new may be under way). */
const latestRunOn = (paymentId: string, build: string) =>
  waitFor(
    () => buildOf(paymentId),
    (b) => b === build,
    20_000,
    `${paymentId}'s latest run on ${build}`,
  );

const payments: Array<{ id: string; firstRun: string; startedOn: string }> = [];

/** An authorized manual-capture payment (in flight until captured), and the build it runs on. */
async function authorize(amount: number): Promise<string> {
  const res = await api.pay(amount);
  expect([res.status, res.body.status, res.status === 201 ? '' : res.text]).toEqual([201, 'authorized', '']);
  const id = res.body.id as string;
  const firstRun = (await stack.client.workflow.getHandle(paymentWorkflowId(id)).describe()).runId;
  const startedOn = (await waitFor(
    () => buildOf(id, firstRun),
    (b) => !!b,
    10_000,
    `${id} build`,
  ))!;
  payments.push({ id, firstRun, startedOn });
  return id;
}

async function captureAll(ids: string[]): Promise<void> {
  for (const id of ids) {
    const res = await api.capture(id);
    expect([id, res.status]).toEqual([id, 200]);
  }
  for (const id of ids) await api.waitForStatus(id, 'captured');
}

beforeAll(async () => {
  stack = await startStack({ keys, workers: false });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
  connection = await NativeConnection.connect({ address: testEnv().temporalAddress });
  // The card-data worker runs activities only: unversioned (workers/versioning.ts says why).
  runWorker(
    await createCardWorker({
      connection,
      namespace: 'default',
      taskQueue: stack.cardTaskQueue,
      vault: stack.vault,
      providers: createProviderRegistry([createSandboxProvider({ pool: stack.pool })]),
      routing: { pool: stack.pool },
    }),
  );
  cfg = loadCliConfig({
    ...keys,
    DATABASE_URL: testEnv().runtimeDatabaseUrl,
    TEMPORAL_ADDRESS: testEnv().temporalAddress,
    SETTLE_DEPLOYMENT_NAME: DEPLOYMENT,
    SETTLE_TASK_QUEUE: stack.taskQueue,
    SETTLE_CARD_TASK_QUEUE: stack.cardTaskQueue,
    SETTLE_WEBHOOK_TASK_QUEUE: stack.webhookTaskQueue,
    USER: 'rehearsal',
  });
  target = {
    client: stack.client,
    namespace: 'default',
    deploymentName: DEPLOYMENT,
    identity: 'cli:rehearsal',
  };
}, 120_000);

afterAll(async () => {
  for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
  await Promise.allSettled(workers.map((w) => w.done));
  await connection?.close();
  await stack?.stop();
});

const V1 = require.resolve('../../workflows');
const V2 = require.resolve('../fixtures/versioning/v2');
const V3 = require.resolve('../fixtures/versioning/v3');

test('ramp v2 10% -> 100%, refuse a non-deterministic v3, roll back to v1: no payment fails or acts twice', async () => {
  await versionedPaymentWorker('v1', V1);
  await deploy('promote', 'v1', '--hours', '1');
  const onV1 = [await authorize(1_001), await authorize(1_002), await authorize(1_003)];
  expect(payments.map((p) => p.startedOn)).toEqual(['v1', 'v1', 'v1']);

  // v2 beside v1; the gate replays v1's live payments and the corpus against v2's code.
  await versionedPaymentWorker('v2', V2);
  await deploy('ramp', 'v2', '10', '--hours', '1', '--workflows', V2);
  for (let i = 0; i < 4; i++) await authorize(2_000 + i);
  await deploy('ramp', 'v2', '100', '--hours', '1', '--workflows', V2);
  const rampedTo100 = [await authorize(2_100), await authorize(2_101)];
  log(`payments started on: ${payments.map((p) => `${p.id}@${p.startedOn}`).join(', ')}`);
  for (const id of rampedTo100) expect([id, await buildOf(id)]).toEqual([id, 'v2']);

  // In flight on v1 since before the ramp: PINNED, they complete on v1.
  await captureAll(onV1);
  // In flight on v1 since before the ramp: PINNED, their capture ran on v1; the refund phase then
  // continued-as-new onto the target build (v2), a fresh history (workflows/payment.ts).
  for (const id of onV1) {
    const first = payments.find((p) => p.id === id)!.firstRun;
    const run = await stack.client.workflow.getHandle(paymentWorkflowId(id), first).describe();
    expect([id, run.status.name, await buildOf(id, first)]).toEqual([id, 'CONTINUED_AS_NEW', 'v1']);
    await latestRunOn(id, 'v2');
  }
  log(`in-flight v1 payments captured on v1, refund phase continued on v2: ${onV1.join(', ')}`);

  await deploy('promote', 'v2', '--hours', '1', '--workflows', V2);
  const onV2 = [await authorize(2_200), await authorize(2_201)];
  for (const id of onV2) expect([id, await buildOf(id)]).toEqual([id, 'v2']);

  // v3: the same change without patched(). The gate refuses it, naming the workflow and the event.
  const refusal = await deploy('ramp', 'v3', '10', '--hours', '1', '--workflows', V3).then(
    () => undefined,
    (err: Error) => err,
  );
  log(`v3 ${refusal?.message ?? 'was NOT refused'}`);
  expect(refusal?.message).toMatch(
    /^refused: build v3 does not replay workflow payment-pay_\S+ .*at event \d+ \(EVENT_TYPE_[A-Z_]+.*\): \[TMPRL1100\] Nondeterminism/,
  );
  const named = payments.find((p) => refusal!.message.includes(p.id));
  expect(named ?? refusal!.message).toEqual(expect.objectContaining({ startedOn: expect.any(String) }));
  const info = await describeDeployment(target);
  expect(info.routingConfig?.rampingDeploymentVersion?.buildId ?? null).toBeNull();
  expect(info.versionSummaries?.some((v) => v.deploymentVersion?.buildId === 'v3')).toBe(false);

  // Roll back to v1 with v2 payments in flight: new payments start on v1, v2's finish on v2.
  await deploy('rollback');
  const afterRollback = [await authorize(3_000), await authorize(3_001)];
  for (const id of afterRollback) expect([id, await buildOf(id)]).toEqual([id, 'v1']);
  await deploy('status');
  await captureAll([...onV2, ...afterRollback]);
  for (const id of onV2) {
    const first = payments.find((p) => p.id === id)!.firstRun;
    expect([id, await buildOf(id, first)]).toEqual([id, 'v2']);
    await latestRunOn(id, 'v1');
  }
  log(
    `v2 payments in flight at the rollback captured on v2, refund phase continued on v1: ${onV2.join(', ')}`,
  );

  // Every payment: captured, and the provider authorized and captured it exactly once.
  const rest = payments.map((p) => p.id).filter((id) => ![...onV1, ...onV2, ...afterRollback].includes(id));
  await captureAll(rest);
  const books = await Promise.all(
    payments.map(async (p) => {
      const b = await sandboxBooks(stack, p.id);
      const keys = b.ops.map((o) => o.key);
      return {
        id: p.id,
        status: (await api.get(p.id)).body.status as string,
        transactions: b.transactions,
        ops: b.ops.map((o) => o.kind).sort(),
        duplicateKeys: keys.length - new Set(keys).size,
      };
    }),
  );
  expect(books).toEqual(
    payments.map((p) => ({
      id: p.id,
      status: 'captured',
      transactions: 1,
      ops: expect.any(Array),
      duplicateKeys: 0,
    })),
  );
  for (const b of books) expect([b.id, b.ops.filter((k) => k === 'authorize').length]).toEqual([b.id, 1]);
  log(
    `${payments.length} payments across v1, v2 and the rollback: all captured, provider acted once per key`,
  );
  // Each step is audited, the refusal as a failure naming the workflow and the event.
  const audited = await stack.pool.query<{
    action: string;
    outcome: string;
    details: Record<string, unknown>;
  }>('SELECT action, outcome, details FROM audit_events WHERE resource = $1 ORDER BY seq', [
    `deployment:${DEPLOYMENT}`,
  ]);
  expect(audited.rows.map((r) => [r.action, r.outcome, r.details.build ?? r.details.to])).toEqual([
    ['deploy.promote', 'success', 'v1'],
    ['deploy.ramp', 'success', 'v2'],
    ['deploy.ramp', 'success', 'v2'],
    ['deploy.promote', 'success', 'v2'],
    ['deploy.ramp', 'failure', 'v3'],
    ['deploy.rollback', 'success', 'v1'],
  ]);
  expect(audited.rows[4]!.details).toEqual(
    expect.objectContaining({
      refused: true,
      workflowId: expect.stringMatching(/^payment-pay_/),
      event: expect.stringMatching(/^event \d+/),
    }),
  );
});
