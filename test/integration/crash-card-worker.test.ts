/**
 * A card-data worker killed (SIGKILL) in the middle of a capture and of a refund, after the sandbox
 * applied the effect but before the answer came back: a fresh worker process takes the activity
 * over (heartbeat timeout, activity-options.ts), syncs with the provider first, and the sandbox's
 * books show exactly one capture and one refund; the payment ends correct.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startStack, testEnv, testKeyEnv, type Stack } from '../support/stack';
import { apiFor, sandboxBooks, waitFor, type Api } from './payments-support';

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
const keys = testKeyEnv();
let stack: Stack;
let api: Api;
const children = new Set<ChildProcess>();

function startCardWorker(): ChildProcess {
  const { temporalAddress, databaseUrl } = testEnv();
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/card-worker.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      SETTLE_TASK_QUEUE: stack.taskQueue,
      SETTLE_CARD_TASK_QUEUE: stack.cardTaskQueue,
      SETTLE_KEY_PROVIDER: keys.SETTLE_KEY_PROVIDER,
      SETTLE_LOCAL_MASTER_KEY: keys.SETTLE_LOCAL_MASTER_KEY,
      SETTLE_FINGERPRINT_KEY: keys.SETTLE_FINGERPRINT_KEY,
      SETTLE_SECRET_ROOT_KEY: keys.SETTLE_SECRET_ROOT_KEY,
      AWS_REGION: keys.AWS_REGION,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Resolves once the process logged that it polls its task queue. */
function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('card-data worker started')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => reject(new Error(`card worker exited early (${code}): ${out.slice(-2000)}`)));
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  stack = await startStack({ keys, cardWorker: false, authWaitMs: 40_000 });
  api = apiFor(stack, (await stack.serviceAuth()).authorization);
}, 120_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await stack?.stop();
});

/** Wait until the sandbox has applied the operation with this idempotency key (answer still pending). */
const applied = (key: string) =>
  waitFor(
    async () =>
      (await stack.pool.query('SELECT 1 FROM sandbox_operations WHERE idempotency_key = $1', [key])).rowCount,
    (n) => n === 1,
    30_000,
    `sandbox to apply ${key}`,
  );

test('kill -9 during a capture and during a refund: exactly one effect each at the provider', async () => {
  let worker = startCardWorker();
  await started(worker);
  const created = await api.pay(200_000);
  expect(created.status).toBe(201);
  const id = created.body.id as string;

  // Capture 50806: the sandbox applies it, then takes 6 s to answer. Kill the worker in between.
  const capture = api.capture(id, { amount: 50806, final: true }).then((r) => r);
  await applied(`${id}:capture:1`);
  await kill9(worker);
  worker = startCardWorker();
  await started(worker);
  const captured = await capture;
  expect(captured.status).toBe(200);
  expect(captured.body).toMatchObject({ status: 'captured', amountCaptured: 50806, amountCapturable: 0 });

  // Refund 50805: same story.
  const refund = api.refund(id, { amount: 50805 }).then((r) => r);
  const refundKey = await waitFor(
    async () =>
      (
        await stack.pool.query<{ idempotency_key: string }>(
          `SELECT idempotency_key FROM sandbox_operations WHERE kind = 'refund' AND idempotency_key LIKE $1`,
          [`${id}:refund:%`],
        )
      ).rows[0]?.idempotency_key,
    (k) => k !== undefined,
    30_000,
    'sandbox to apply the refund',
  );
  await kill9(worker);
  worker = startCardWorker();
  await started(worker);
  const refunded = await refund;
  expect(refunded.status).toBe(201);
  expect(refunded.body).toMatchObject({ paymentId: id, amount: 50805, status: 'succeeded' });

  const books = await sandboxBooks(stack, id);
  expect(books.ops.filter((o) => o.kind === 'capture')).toEqual([
    { key: `${id}:capture:1`, kind: 'capture', amount: 50806 },
  ]);
  expect(books.ops.filter((o) => o.kind === 'refund')).toEqual([
    { key: refundKey, kind: 'refund', amount: 50805 },
  ]);
  expect(books.tx).toMatchObject({ status: 'captured', amountCaptured: 50806, amountRefunded: 50805 });
  // The new worker asked the provider what happened instead of sending again (sync before resend).
  const attempts = await stack.pool.query<{ attempts: number }>(
    'SELECT attempts FROM sandbox_operations WHERE idempotency_key = ANY($1) ORDER BY idempotency_key',
    [[`${id}:capture:1`, refundKey]],
  );
  expect(attempts.rows.map((r) => r.attempts)).toEqual([1, 1]);

  expect((await api.get(id)).body).toMatchObject({
    status: 'partially_refunded',
    amountCaptured: 50806,
    amountRefunded: 50805,
  });
  await kill9(worker);
});
