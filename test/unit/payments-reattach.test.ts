/**
 * POST /v1/payments re-attaching after a 503 (API.md "Conventions"): a payment id never gets a second
 * workflow run (REJECT_DUPLICATE), and when its workflow has ended without the `await-authorization`
 * update in its last run (it continued as new) the same-key retry answers from the projection:
 * 201 with the payment, 402 for a decline, never a new authorization. The live path (a closed run that
 * still holds the update) is proven against a real Temporal server in
 * test/integration/payments-reattach.test.ts.
 */
/* eslint-disable @typescript-eslint/require-await -- fakes keep the repositories' async signatures */
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WithStartWorkflowOperation,
} from '@temporalio/client';
import { paymentsServiceOver } from '../support/payments-service-fakes';
import { AppError } from '../../domain/errors';
import type { PaymentView } from '../../domain/payment';

const view = (over: Partial<PaymentView>): PaymentView => ({
  id: 'pay_x',
  status: 'authorized',
  amount: 100,
  currency: 'USD',
  amountCapturable: 100,
  amountCaptured: 0,
  amountRefunded: 0,
  amountDisputed: 0,
  capture: 'manual',
  provider: 'sandbox',
  providerReference: 'sbx_1',
  paymentMethod: { token: 'tok_x', brand: 'visa', last4: '4242' },
  createdAt: '2026-12-05T00:00:00.000Z',
  updatedAt: '2026-12-05T00:00:00.000Z',
  ...over,
});

/** A service whose payment workflow has ended; `stored` is what the projection holds. */
function serviceWithEndedWorkflow(stored: PaymentView | undefined) {
  const starts: WithStartWorkflowOperation<never>[] = [];
  const client = {
    withAbortSignal: (_s: AbortSignal, fn: () => Promise<unknown>) => fn(),
    workflow: {
      startUpdateWithStart: async (
        _u: unknown,
        o: { startWorkflowOperation: WithStartWorkflowOperation<never> },
      ) => {
        starts.push(o.startWorkflowOperation);
        throw new WorkflowExecutionAlreadyStartedError(
          'Workflow execution already started',
          'payment-x',
          'paymentWorkflow',
        );
      },
    },
  } as unknown as Client;
  const svc = paymentsServiceOver(client, () => stored);
  const create = () =>
    svc.create({ sub: 'cli_x', role: 'service' }, 'key-1', {
      amount: 100,
      currency: 'USD',
      paymentMethod: { token: 'tok_x' },
      capture: 'manual',
    });
  return { create, starts };
}

test('the payment workflow id is never reused: a retry re-attaches or is refused, never a second run', async () => {
  const { create, starts } = serviceWithEndedWorkflow(view({}));
  await create();
  expect(starts[0]?.options).toMatchObject({
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });
});

test('an ended payment that was authorized answers with the payment (201), its id derived from the key', async () => {
  const { create } = serviceWithEndedWorkflow(view({ status: 'captured', amountCaptured: 100 }));
  const first = await create();
  expect(first).toMatchObject({ status: 'captured', id: expect.stringMatching(/^pay_/) });
  expect((await create()).id).toBe(first.id);
});

test('an ended payment that was declined answers 402 card_error with its id', async () => {
  const { create } = serviceWithEndedWorkflow(
    view({ status: 'declined', declineCode: 'insufficient_funds' }),
  );
  const err = await create().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect(err).toMatchObject({
    type: 'card_error',
    status: 402,
    code: 'insufficient_funds',
    details: { paymentId: expect.stringMatching(/^pay_/) },
  });
});

test('an ended workflow with no projected payment is not dressed up as an outcome', async () => {
  const { create } = serviceWithEndedWorkflow(undefined);
  await expect(create()).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
});
