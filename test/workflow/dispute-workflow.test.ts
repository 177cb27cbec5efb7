/**
 * disputeWorkflow on the time-skipping server with fake activities (the card-data worker's dispute
 * calls and the payment worker's writes), beside a real paymentWorkflow whose funds it moves:
 *   - won: needs_response -> evidence -> under_review -> provider won; the payment's amountDisputed
 *     goes up by the disputed amount and back to 0, each move one silent payment commit with its
 *     ledger entry keyed by the dispute; events dispute.created, .updated, .closed;
 *   - lost by the deadline: the reminders at 7 and 2 days before evidenceDueBy, then `lost` at it;
 *     evidence afterwards is refused;
 *   - accepted: the card-data worker's acceptDispute, `accepted` + dispute.closed;
 *   - evidence a second time is refused by the validator (DisputeConflict), nothing sent;
 *   - a payment whose workflow has closed: recorded on the dispute, which goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createActivities } from '../../activities';
import type { DisputeStep } from '../../db/disputes-repo';
import type { PaymentStep } from '../../db/payments-repo';
import { entryTotal, paymentLedgerProblems } from '../../domain/ledger';
import type { PaymentInput } from '../../domain/payment';
import {
  acceptDisputeUpdate,
  disputeEventSignal,
  getDisputeQuery,
  submitEvidenceUpdate,
  type DisputeInput,
} from '../../workflows/dispute-messages';
import { awaitAuthorizationUpdate, getPaymentQuery } from '../../workflows/payment-messages';
import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';

jest.setTimeout(90_000);
const DAY = 86_400_000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv({ searchAttributes: true });
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

function harness() {
  const steps: PaymentStep[] = [];
  const disputeSteps: DisputeStep[] = [];
  const calls: Array<{ name: string; args: Record<string, unknown> }> = [];
  const ok = <T>(v: T) => Promise.resolve(v);
  const acts = {
    commitPaymentStep: (s: PaymentStep) => {
      steps.push(s);
      return ok(undefined);
    },
    commitDisputeStep: (s: DisputeStep) => {
      disputeSteps.push(s);
      return ok(undefined);
    },
    projectPayment: () => ok(undefined),
    projectRefund: () => ok(undefined),
    recordEvent: () => ok(undefined),
    authorizePayment: () => ok({ outcome: 'authorized', providerReference: 'sbx_ref', captured: true }),
    capturePayment: (a: { amount: number }) => ok({ providerCaptureId: 'cap_1', amount: a.amount }),
    voidPayment: () => ok(undefined),
    releaseIfAuthorized: () => ok(true),
    refundPayment: () => ok({ providerRefundId: 'r', status: 'succeeded' as const }),
    syncPayment: () => ok({ found: false }),
    submitDisputeEvidence: (a: Record<string, unknown>) => {
      calls.push({ name: 'submitDisputeEvidence', args: a });
      return ok({ status: 'under_review' });
    },
    acceptDispute: (a: Record<string, unknown>) => {
      calls.push({ name: 'acceptDispute', args: a });
      return ok({ status: 'accepted' });
    },
  } as unknown as ReturnType<typeof createActivities>;
  return { steps, disputeSteps, calls, acts };
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
async function startPayment(taskQueue: string) {
  const input: PaymentInput = {
    paymentId: `pay_wfdispute${process.pid}x${++n}aaaaaaaa`,
    clientId: 'cli_test',
    legalEntity: 'default',
    amount: 1000,
    currency: 'USD',
    capture: 'automatic',
    provider: 'sandbox',
    route: ['sandbox'],
    token: 'tok_testtesttest',
    brand: 'visa',
    last4: '4242',
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
  };
  const handle = await env.client.workflow.start('paymentWorkflow', {
    args: [input],
    taskQueue,
    workflowId: `payment-${input.paymentId}`,
  });
  await handle.executeUpdate(awaitAuthorizationUpdate);
  return { input, handle };
}

async function startDispute(
  taskQueue: string,
  paymentId: string,
  dueInMs: number,
  amount = 800,
  e: TestWorkflowEnvironment = env,
) {
  const now = await e.currentTimeMs();
  const input: DisputeInput = {
    disputeId: `dp_wfdispute${process.pid}x${++n}bbbbbbbb`,
    clientId: 'cli_test',
    paymentId,
    provider: 'sandbox',
    providerDisputeId: `sbxdp_${n}`,
    providerReference: 'sbx_ref',
    amount,
    currency: 'USD',
    reason: 'fraudulent',
    evidenceDueBy: new Date(now + dueInMs).toISOString(),
    createdAt: new Date(now).toISOString(),
    cardTaskQueue: taskQueue,
  };
  const handle = await e.client.workflow.signalWithStart('disputeWorkflow', {
    args: [input],
    taskQueue,
    workflowId: `dispute-${input.disputeId}`,
    signal: disputeEventSignal,
    signalArgs: [{ eventId: 'sandbox:ev_open', status: 'needs_response', occurredAt: input.createdAt }],
  });
  return { input, handle };
}

/** Time skipping may have run the payment to its refund window's end meanwhile: stop it if not. */
const stop = (h: { terminate(reason: string): Promise<unknown> }) =>
  h.terminate('test done').catch(() => undefined);

const kinds = (steps: DisputeStep[]) => steps.map((s) => [s.view.status, s.events.map((e) => e.type)]);

test('won: evidence, under review, the provider decides won; the funds go out and come back', async () => {
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-won`;
  await runTestWorker(env, { taskQueue, activities: h.acts }, async () => {
    const payment = await startPayment(taskQueue);
    const dispute = await startDispute(taskQueue, payment.input.paymentId, 21 * DAY);
    const withdrawn = await waitFor(
      () => payment.handle.query(getPaymentQuery),
      (v) => v.amountDisputed === 800,
      'the withdrawal',
    );
    expect(withdrawn).toMatchObject({ status: 'captured', amountCaptured: 1000, amountDisputed: 800 });

    const view = await dispute.handle.executeUpdate(submitEvidenceUpdate, {
      args: [{ text: 'Signed delivery receipt attached', fileIds: ['dpf_file00000001'] }],
    });
    expect(view).toMatchObject({ status: 'under_review', evidenceSubmittedAt: expect.any(String) });
    await dispute.handle.signal(disputeEventSignal, {
      eventId: 'sandbox:ev_won',
      status: 'won',
      occurredAt: new Date().toISOString(),
    });
    expect(await dispute.handle.result()).toMatchObject({ status: 'won', amount: 800 });
    const back = await waitFor(
      () => payment.handle.query(getPaymentQuery),
      (v) => v.amountDisputed === 0,
      'the reinstatement',
    );
    expect(back.status).toBe('captured');
    await stop(payment.handle);

    expect(h.calls).toEqual([
      {
        name: 'submitDisputeEvidence',
        args: {
          disputeId: dispute.input.disputeId,
          provider: 'sandbox',
          providerDisputeId: dispute.input.providerDisputeId,
          paymentId: payment.input.paymentId,
          providerReference: 'sbx_ref',
          text: 'Signed delivery receipt attached',
          fileIds: ['dpf_file00000001'],
        },
      },
    ]);
    expect(kinds(h.disputeSteps)).toEqual([
      ['needs_response', ['dispute.created']],
      ['under_review', ['dispute.updated']],
      ['won', ['dispute.closed']],
    ]);
    expect(h.disputeSteps.map((s) => s.version)).toEqual([1, 2, 3]);
    expect(h.disputeSteps.every((s) => !s.paymentClosed)).toBe(true);
    // The payment's dispute commits: no payment.<status> event (unchanged status), one entry each.
    const disputeCommits = h.steps.filter((s) => (s.ledger ?? []).some((e) => e.kind.startsWith('dispute')));
    expect(disputeCommits.map((s) => [s.view.amountDisputed, s.events.length])).toEqual([
      [800, 0],
      [0, 0],
    ]);
    const posted = h.steps.flatMap((s) => s.ledger ?? []);
    for (const e of posted) expect(entryTotal(e)).toBe(0);
    expect(posted.filter((e) => e.kind.startsWith('dispute')).map((e) => e.stepKey)).toEqual([
      `dispute:${dispute.input.disputeId}:withdrawal`,
      `dispute:${dispute.input.disputeId}:reinstatement`,
    ]);
    expect(
      paymentLedgerProblems(
        posted.flatMap((e) => e.lines),
        {
          amountCapturable: 0,
          amountCaptured: 1000,
          amountRefunded: 0,
          refundsPending: 0,
          amountDisputed: 0,
        },
      ),
    ).toEqual([]);
  });
});

test('lost by the deadline: reminders 7 and 2 days before, lost at evidenceDueBy; evidence then refused', async () => {
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-lost`;
  await runTestWorker(env, { taskQueue, activities: h.acts }, async () => {
    const payment = await startPayment(taskQueue);
    const dispute = await startDispute(taskQueue, payment.input.paymentId, 10 * DAY, 5000);
    // Time skips through the reminders to the deadline.
    expect(await dispute.handle.result()).toMatchObject({ status: 'lost' });
    const err = await dispute.handle
      .executeUpdate(submitEvidenceUpdate, { args: [{ text: 'late', fileIds: [] }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    const paid = await payment.handle.query(getPaymentQuery);
    // A lost dispute keeps the funds withdrawn; it took at most what was captured.
    expect(paid).toMatchObject({ amountCaptured: 1000, amountDisputed: 1000 });
    await stop(payment.handle);
  });
  expect(kinds(h.disputeSteps)).toEqual([
    ['needs_response', ['dispute.created']],
    ['needs_response', ['dispute.updated']],
    ['needs_response', ['dispute.updated']],
    ['lost', ['dispute.closed']],
  ]);
  const due = Date.parse(h.disputeSteps[0]!.view.evidenceDueBy);
  const reminders = h.disputeSteps.slice(1, 3);
  expect(reminders.map((s) => s.events[0]?.data.reminder)).toEqual([
    { daysBefore: 7, evidenceDueBy: h.disputeSteps[0]!.view.evidenceDueBy },
    { daysBefore: 2, evidenceDueBy: h.disputeSteps[0]!.view.evidenceDueBy },
  ]);
  expect(reminders.map((s) => Math.round((due - Date.parse(s.view.updatedAt)) / DAY))).toEqual([7, 2]);
  expect(Date.parse(h.disputeSteps[3]!.view.updatedAt)).toBeGreaterThanOrEqual(due);
  expect(h.calls).toEqual([]);
});

test('accepted: the card-data worker concedes, accepted + dispute.closed; no reminder already past', async () => {
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-acc`;
  await runTestWorker(env, { taskQueue, activities: h.acts }, async () => {
    const payment = await startPayment(taskQueue);
    const dispute = await startDispute(taskQueue, payment.input.paymentId, 1 * DAY);
    const view = await dispute.handle.executeUpdate(acceptDisputeUpdate);
    expect(view.status).toBe('accepted');
    expect(await dispute.handle.result()).toMatchObject({ status: 'accepted' });
    await stop(payment.handle);
  });
  expect(h.calls.map((c) => c.name)).toEqual(['acceptDispute']);
  // A due date 1 day ahead: both reminders were already past, none sent.
  expect(kinds(h.disputeSteps)).toEqual([
    ['needs_response', ['dispute.created']],
    ['accepted', ['dispute.closed']],
  ]);
});

test('evidence twice: the second is refused by the validator (DisputeConflict), nothing is sent again', async () => {
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-twice`;
  await runTestWorker(env, { taskQueue, activities: h.acts }, async () => {
    const payment = await startPayment(taskQueue);
    const dispute = await startDispute(taskQueue, payment.input.paymentId, 21 * DAY);
    await dispute.handle.executeUpdate(submitEvidenceUpdate, { args: [{ text: 'first', fileIds: [] }] });
    const err = await dispute.handle
      .executeUpdate(submitEvidenceUpdate, { args: [{ text: 'second', fileIds: [] }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (err as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('DisputeConflict');
    expect((cause as ApplicationFailure).details?.[0]).toEqual({
      code: 'invalid_state',
      status: 'under_review',
    });
    expect((await dispute.handle.query(getDisputeQuery)).status).toBe('under_review');
    await dispute.handle.signal(disputeEventSignal, {
      eventId: 'sandbox:ev_lost',
      status: 'lost',
      occurredAt: new Date().toISOString(),
    });
    expect(await dispute.handle.result()).toMatchObject({ status: 'lost' });
    await stop(payment.handle);
  });
  expect(h.calls.map((c) => c.args.text)).toEqual(['first']);
});

test('a payment whose workflow has closed: recorded on the dispute, which goes on', async () => {
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-closed`;
  await runTestWorker(env, { taskQueue, activities: h.acts }, async () => {
    const dispute = await startDispute(taskQueue, 'pay_noworkflow000000001', 21 * DAY);
    await dispute.handle.executeUpdate(acceptDisputeUpdate);
    expect(await dispute.handle.result()).toMatchObject({ status: 'accepted' });
  });
  expect(h.disputeSteps.map((s) => [s.version, s.paymentClosed])).toEqual([
    [1, false],
    [2, true],
  ]);
});

test('a fund move the payment never answered is sent again until answered; the reinstatement only after the withdrawal', async () => {
  // A test server of its own: the shared one stops skipping time once an update was rejected by its
  // validator (earlier tests here), and this test needs 10 minutes skipped.
  const own = await createTimeSkippingEnv({ searchAttributes: true });
  const h = harness();
  const taskQueue = `wf-dispute-${process.pid}-dropped`;
  const workflowsPath = require.resolve('./fixtures/dropping-payment');
  try {
    await runTestWorker(own, { taskQueue, activities: h.acts, workflowsPath }, async () => {
      const paymentId = `pay_wfdropped${process.pid}x${++n}aaaaaaaa`;
      const payment = await own.client.workflow.start('paymentWorkflow', {
        taskQueue,
        workflowId: `payment-${paymentId}`,
      });
      const dispute = await startDispute(taskQueue, paymentId, 21 * DAY, 800, own);
      await dispute.handle.executeUpdate(submitEvidenceUpdate, { args: [{ text: 'receipt', fileIds: [] }] });
      await dispute.handle.signal(disputeEventSignal, {
        eventId: 'sandbox:ev_won',
        status: 'won',
        occurredAt: new Date().toISOString(),
      });
      // The result waits for both answers: time skips through the 10-minute resend of the lost withdrawal.
      const started = await own.currentTimeMs();
      expect(await dispute.handle.result()).toMatchObject({ status: 'won' });
      expect((await own.currentTimeMs()) - started).toBeGreaterThanOrEqual(10 * 60_000);
      const seen = await payment.query<{ received: number; applied: Array<{ action: string }> }>('received');
      expect(seen.applied.map((a) => a.action)).toEqual(['withdraw', 'reinstate']);
      expect(seen.received).toBe(3);
      await stop(payment);
      // The resend path, for the replay corpus (RECORD_DISPUTE_HISTORIES=1): the dispute's own history.
      if (process.env.RECORD_DISPUTE_HISTORIES === '1') {
        const text = historyFileText(await decodeHistoryPayloads(await dispute.handle.fetchHistory()));
        fs.writeFileSync(
          path.join(__dirname, '..', 'replay', 'histories', 'dispute-funds-resent.json'),
          text,
        );
      }
    });
  } finally {
    await teardownTimeSkippingEnv(own);
  }
});
