/**
 * paymentWorkflow's commit() hands each step's journal entries (domain/ledger.ts) to the one local
 * activity that writes the step, on the time-skipping server with fake activities: authorization,
 * a partial capture, the final capture that releases the rest and a refund made at the provider
 * (signal `providerEvent`) each carry their balanced entries, the provider's refund keyed by its
 * refund id, and together the entries equal the payment's final amounts. A run resumed by
 * continue-as-new from a run that posted nothing (started before the ledger) opens the payment's
 * ledger with its first step; one resumed from a run that posted does not.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createActivities } from '../../activities';
import type { createCardActivities } from '../../activities/card-activities';
import type { PaymentStep } from '../../db/payments-repo';
import { entryTotal, paymentLedgerProblems } from '../../domain/ledger';
import type { PaymentInput } from '../../domain/payment';
import { awaitAuthorizationUpdate, captureUpdate, getPaymentQuery } from '../../workflows/payment-messages';
import { providerEventSignal } from '../../workflows/provider-events';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';
import { partiallyCapturedState } from '../support/payment-fixtures';

type All = ReturnType<typeof createActivities> & ReturnType<typeof createCardActivities>;

jest.setTimeout(60_000);
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv({ searchAttributes: true });
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

function harness() {
  const steps: PaymentStep[] = [];
  const ok = <T>(v: T) => Promise.resolve(v);
  const acts = {
    commitPaymentStep: (s: PaymentStep) => {
      steps.push(s);
      return ok(undefined);
    },
    projectPayment: () => ok(undefined),
    projectRefund: () => ok(undefined),
    recordEvent: () => ok(undefined),
    authorizePayment: () => ok({ outcome: 'authorized', providerReference: 'sbx_ref', captured: false }),
    capturePayment: (a: { amount: number }) => ok({ providerCaptureId: 'cap_1', amount: a.amount }),
    voidPayment: () => ok(undefined),
    releaseIfAuthorized: () => ok(true),
    refundPayment: () => ok({ providerRefundId: 'r', status: 'succeeded' as const }),
    destroyExpiredCvcs: () => ok(0),
    syncPayment: () => ok({ found: false }),
  } as unknown as All;
  return { steps, acts };
}

/** Poll `probe` until `done` holds (a deadline, never a bare sleep). */
async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let n = 0;
async function paymentInput(taskQueue: string): Promise<PaymentInput> {
  return {
    paymentId: `pay_wfledger${process.pid}x${++n}aaaaaaaaaa`,
    clientId: 'cli_test',
    legalEntity: 'default',
    amount: 1000,
    currency: 'USD',
    capture: 'manual',
    provider: 'sandbox',
    route: ['sandbox'],
    token: 'tok_testtesttest',
    brand: 'visa',
    last4: '4242',
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
  };
}

test('each step carries the entries of the money it moved; together they equal the final amounts', async () => {
  const { steps, acts } = harness();
  const taskQueue = `wf-ledger-${process.pid}-a`;
  const input = await paymentInput(taskQueue);

  const refundId = 're_wfledgerprovider000001';
  await runTestWorker(env, { taskQueue, activities: acts }, async () => {
    const handle = await env.client.workflow.start('paymentWorkflow', {
      args: [input],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    await handle.executeUpdate(awaitAuthorizationUpdate);
    await handle.executeUpdate(captureUpdate, { args: [{ amount: 400 }] });
    await handle.executeUpdate(captureUpdate, { args: [{ amount: 200, final: true }] });
    await handle.signal(providerEventSignal, {
      eventId: 'sandbox:ev_ledger',
      provider: 'sandbox',
      kind: 'refund.succeeded',
      amount: 150,
      providerRefundId: 'sbxre_1',
      refundId,
      merchantEventId: 'evt_wfledgerprovider00001',
      occurredAt: input.createdAt,
    });
    const view = await waitFor(
      () => handle.query(getPaymentQuery),
      (v) => v.amountRefunded === 150,
      'the provider refund applied',
    );
    expect(view).toMatchObject({
      status: 'partially_refunded',
      amountCapturable: 0,
      amountCaptured: 600,
      amountRefunded: 150,
    });
    await handle.terminate('test done');
  });

  const posted = steps.flatMap((s) => s.ledger ?? []);
  expect(steps.map((s) => [s.view.status, (s.ledger ?? []).map((e) => e.kind)])).toEqual([
    ['authorized', ['authorization']],
    ['partially_captured', ['capture']],
    ['captured', ['capture', 'hold_release']],
    ['partially_refunded', ['refund']],
  ]);
  for (const e of posted) {
    expect(entryTotal(e)).toBe(0);
    expect(e).toMatchObject({ clientId: 'cli_test', paymentId: input.paymentId, currency: 'USD' });
  }
  // Entries are stamped with their step's time and version, the refund by its own id.
  expect(posted.map((e) => e.stepKey)).toEqual([
    `payment:${input.paymentId}:v2:authorization`,
    `payment:${input.paymentId}:v3:capture`,
    `payment:${input.paymentId}:v4:capture`,
    `payment:${input.paymentId}:v4:hold_release`,
    `refund:${refundId}`,
  ]);
  for (const st of steps) for (const e of st.ledger ?? []) expect(e.createdAt).toBe(st.view.updatedAt);
  expect(
    paymentLedgerProblems(
      posted.flatMap((e) => e.lines),
      { amountCapturable: 0, amountCaptured: 600, amountRefunded: 150, refundsPending: 0 },
    ),
  ).toEqual([]);
});

test.each([
  [
    'a state resumed from a run that posted nothing (started before the ledger)',
    undefined,
    ['opening_balance', 'capture'],
  ],
  ['a state resumed from a run that posted', true, ['capture']],
])('continue-as-new: %s', async (_name, ledgerPosted, kinds) => {
  const { steps, acts } = harness();
  const taskQueue = `wf-ledger-${process.pid}-${ledgerPosted ? 'b' : 'c'}`;
  const input = await paymentInput(taskQueue);
  await runTestWorker(env, { taskQueue, activities: acts }, async () => {
    const resumed = { ...partiallyCapturedState(input.createdAt), ledgerPosted };
    const handle = await env.client.workflow.start('paymentWorkflow', {
      args: [input, resumed],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    await handle.executeUpdate(captureUpdate, { args: [{ amount: 100 }] });
    await handle.terminate('test done');
  });
  const posted = steps.flatMap((s) => s.ledger ?? []);
  expect(posted.map((e) => e.kind)).toEqual(kinds);
  expect(steps.at(-1)?.view).toMatchObject({ amountCapturable: 500, amountCaptured: 500 });
  if (!ledgerPosted) {
    // The opening balance brings the ledger to the resumed state (400 captured, 600 held): after the
    // capture it equals the payment's amounts, and an opening is posted once per payment.
    expect(posted[0]?.stepKey).toBe(`payment:${input.paymentId}:opening`);
    expect(
      paymentLedgerProblems(
        posted.flatMap((e) => e.lines),
        { amountCapturable: 500, amountCaptured: 500, amountRefunded: 0, refundsPending: 0 },
      ),
    ).toEqual([]);
  }
});
