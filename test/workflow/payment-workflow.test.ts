/**
 * PaymentWorkflow on the time-skipping test server with fake activities typed from createActivities
 * and createCardActivities: days-long authorization windows run in seconds. Driven by queries,
 * env.sleep and workflow results (Updates can hang on the time-skipping server; they are covered by
 * the integration tests on the dev server).
 */
/* eslint-disable @typescript-eslint/require-await -- the fakes keep the activities' async signatures */
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { createActivities } from '../../activities';
import type { createCardActivities } from '../../activities/card-activities';
import type { EventRecord } from '../../db/events-repo';
import type { PaymentInput } from '../../domain/payment';
import { FAILURE_TYPES } from '../../domain/errors';

import { getPaymentQuery, paymentWorkflow, paymentEventId } from '../../workflows/payment';

import { createTimeSkippingEnv, runTestWorker, teardownTimeSkippingEnv } from '../support/temporal-test-env';
import { partiallyCapturedState } from '../support/payment-fixtures';

type AllActivities = ReturnType<typeof createActivities> & ReturnType<typeof createCardActivities>;
type AuthorizeImpl = AllActivities['authorizePayment'];

jest.setTimeout(60_000);

const DAY = 24 * 60 * 60 * 1000;
let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await createTimeSkippingEnv({ searchAttributes: true });
}, 120_000);
afterAll(async () => {
  await teardownTimeSkippingEnv(env);
});

/** Fake activities that record every call; authorization behaviour per test. */
function fakes(authorize: AuthorizeImpl) {
  const calls: Array<{ name: string; arg: unknown }> = [];
  const events: EventRecord[] = [];
  const rec = (name: string, arg: unknown) => calls.push({ name, arg });
  const acts: AllActivities = {
    async commitPaymentStep(step) {
      rec('commitPaymentStep', step);
      events.push(...step.events);
    },
    async projectPayment(a) {
      rec('projectPayment', a);
    },
    async projectRefund(r) {
      rec('projectRefund', r);
    },
    async recordEvent(e) {
      rec('recordEvent', e);
      events.push(e);
    },
    authorizePayment: authorize,
    async capturePayment(a) {
      rec('capturePayment', a);
      return { providerCaptureId: `cap_${a.n}`, amount: a.amount };
    },
    async voidPayment(a) {
      rec('voidPayment', a);
    },
    async releaseIfAuthorized(a) {
      rec('releaseIfAuthorized', a);
      return false;
    },
    async refundPayment(a) {
      rec('refundPayment', a);
      return { providerRefundId: 'sbxre_1', status: 'succeeded' };
    },
    async destroyExpiredCvcs() {
      return 0;
    },
    async syncPayment() {
      return { found: false };
    },
    submitDisputeEvidence: () => Promise.reject(new Error('unused')),
    acceptDispute: () => Promise.reject(new Error('unused')),
  };
  return { acts, calls, events, count: (name: string) => calls.filter((c) => c.name === name).length };
}

let n = 0;
async function run(
  authorize: AuthorizeImpl,
  body: (ctx: { input: PaymentInput; f: ReturnType<typeof fakes>; taskQueue: string }) => Promise<void>,
) {
  const taskQueue = `wf-test-${process.pid}-${++n}`;
  const f = fakes(authorize);
  const input: PaymentInput = {
    paymentId: `pay_wftest${process.pid}x${n}aaaaaaaaaaaaa`,
    clientId: 'cli_test',
    legalEntity: 'default',
    amount: 1000,
    currency: 'USD',
    capture: 'manual',
    provider: 'sandbox',
    token: 'tok_testtesttest',
    brand: 'visa',
    last4: '4242',
    createdAt: new Date(await env.currentTimeMs()).toISOString(),
    cardTaskQueue: taskQueue,
  };
  await runTestWorker(env, { taskQueue, activities: f.acts }, () => body({ input, f, taskQueue }));
  return f;
}

const approve =
  (captureBefore?: () => string): AuthorizeImpl =>
  async () => ({
    outcome: 'authorized',
    providerReference: 'sbx_ref',
    captured: false,
    captureBefore: captureBefore?.(),
  });

test('an uncaptured authorization is voided after 7 days and ends expired', async () => {
  const f = await run(approve(), async ({ input, taskQueue }) => {
    const handle = await env.client.workflow.start(paymentWorkflow, {
      args: [input],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    const view = await handle.result();
    expect(view).toMatchObject({ status: 'expired', amountCapturable: 0, amountCaptured: 0 });
    // The void happened in workflow time just before the 7-day window (5-minute safety margin).
    const elapsed = Date.parse(view.updatedAt) - Date.parse(input.createdAt);
    expect(elapsed).toBeGreaterThanOrEqual(7 * DAY - 6 * 60_000);
    expect(elapsed).toBeLessThan(7 * DAY);
  });
  expect(f.count('voidPayment')).toBe(1);
  expect(f.events.map((e) => e.type)).toEqual(['payment.authorized', 'payment.expired']);
});

test('the provider capture_before is honoured over the 7-day default', async () => {
  // The test server's clock runs ahead of the wall clock once time was skipped: anchor on createdAt.
  let base = 0;
  const f = await run(
    approve(() => new Date(base + DAY).toISOString()),
    async ({ input, taskQueue }) => {
      base = Date.parse(input.createdAt);
      const handle = await env.client.workflow.start(paymentWorkflow, {
        args: [input],
        taskQueue,
        workflowId: `payment-${input.paymentId}`,
      });
      // Half a day in: still authorized, the expiry visible to the client.
      await env.sleep('12 hours');
      const mid = await handle.query(getPaymentQuery);
      expect(mid.status).toBe('authorized');
      expect(Date.parse(mid.authorizationExpiresAt ?? '')).toBeLessThan(
        Date.parse(input.createdAt) + DAY + 60_000,
      );
      const view = await handle.result();
      expect(view.status).toBe('expired');
      const elapsed = Date.parse(view.updatedAt) - Date.parse(input.createdAt);
      expect(elapsed).toBeLessThan(DAY);
      expect(elapsed).toBeGreaterThan(DAY - 6 * 60_000);
    },
  );
  expect(f.count('voidPayment')).toBe(1);
});

test('partial capture then expiry: captured, the rest released, refunds still possible', async () => {
  const f = await run(approve(), async ({ input, taskQueue }) => {
    const resumed = partiallyCapturedState(input.createdAt);
    const handle = await env.client.workflow.start(paymentWorkflow, {
      args: [input, resumed],
      taskQueue,
      workflowId: `payment-${input.paymentId}`,
    });
    await env.sleep('7 days');
    const view = await handle.query(getPaymentQuery);
    expect(view).toMatchObject({ status: 'captured', amountCaptured: 400, amountCapturable: 0 });
    await handle.terminate('test done');
  });
  expect(f.count('voidPayment')).toBe(1);
  expect(f.count('authorizePayment')).toBe(0);
  expect(f.events.map((e) => [e.type, e.id])).toEqual([
    ['payment.captured', paymentEventId(`pay_wftest${process.pid}x${n}aaaaaaaaaaaaa`, 4)],
  ]);
});

test('an authorization that fails is marked failed and compensation releases any hold', async () => {
  const f = await run(
    async () => {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.ProviderInvalidRequest,
        message: 'bad request',
        nonRetryable: true,
      });
    },
    async ({ input, taskQueue }) => {
      const view = await env.client.workflow.execute(paymentWorkflow, {
        args: [input],
        taskQueue,
        workflowId: `payment-${input.paymentId}`,
      });
      expect(view).toMatchObject({ status: 'failed', amountCapturable: 0 });
    },
  );
  expect(f.count('releaseIfAuthorized')).toBe(1);
  expect(f.events.map((e) => e.type)).toEqual(['payment.failed']);
});

test('outages are retried with backoff until the provider answers', async () => {
  let attempts = 0;
  const f = await run(
    async () => {
      attempts++;
      if (attempts < 3)
        throw ApplicationFailure.create({ type: FAILURE_TYPES.ProviderUnavailable, message: 'down' });
      return { outcome: 'authorized', providerReference: 'sbx_ref', captured: true };
    },
    async ({ input, taskQueue }) => {
      const handle = await env.client.workflow.start(paymentWorkflow, {
        args: [{ ...input, capture: 'automatic' }],
        taskQueue,
        workflowId: `payment-${input.paymentId}`,
      });
      const view = await waitQuery(handle, (v) => v.status === 'captured');
      expect(view.amountCaptured).toBe(1000);
      await handle.terminate('test done');
    },
  );
  expect(attempts).toBe(3);
  expect(f.count('releaseIfAuthorized')).toBe(0);
  expect(f.events.map((e) => e.type)).toEqual(['payment.captured']);
});

test('a declined authorization ends declined with its code, no compensation', async () => {
  const f = await run(
    async () => ({ outcome: 'declined', declineCode: 'insufficient_funds', message: 'no funds' }),
    async ({ input, taskQueue }) => {
      const view = await env.client.workflow.execute(paymentWorkflow, {
        args: [input],
        taskQueue,
        workflowId: `payment-${input.paymentId}`,
      });
      expect(view).toMatchObject({ status: 'declined', declineCode: 'insufficient_funds' });
    },
  );
  expect(f.count('releaseIfAuthorized')).toBe(0);
  expect(f.events.map((e) => e.type)).toEqual(['payment.declined']);
  expect(f.events[0]?.id).toMatch(/^evt_[0-9A-Za-z]+$/);
});

async function waitQuery(
  handle: { query: (q: typeof getPaymentQuery) => Promise<Awaited<ReturnType<typeof paymentWorkflow>>> },
  ok: (v: Awaited<ReturnType<typeof paymentWorkflow>>) => boolean,
) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await handle.query(getPaymentQuery);
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify(v)}`);
    await env.sleep('1 second');
  }
}
