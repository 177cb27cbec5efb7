/**
 * The sweeper's judgement (domain/payment-repair.ts): which provider observations become a repair
 * (one state-machine transition at a time) and which are only reported.
 */
import { judge, nextProviderRepair, type Inspection } from '../../domain/payment-repair';
import type { PaymentView } from '../../domain/payment';

const held = (over: Partial<PaymentView> = {}) => ({
  status: 'authorized' as const,
  amount: 1000,
  amountCapturable: 1000,
  amountCaptured: 0,
  amountRefunded: 0,
  ...over,
});

test('a capture at the provider the workflow lacks is a capture repair, final when the provider closed it', () => {
  const r = nextProviderRepair(held(), {
    found: true,
    status: 'captured',
    amountCaptured: 1000,
    captures: [{ providerCaptureId: 'cap_1', amount: 1000 }],
  });
  expect(r).toEqual({ action: { kind: 'capture', amount: 1000, final: true, providerCaptureId: 'cap_1' } });
});

test('a capture the workflow already recorded names the one it lacks', () => {
  const r = nextProviderRepair(
    held({ status: 'partially_captured', amountCapturable: 700, amountCaptured: 300 }),
    {
      found: true,
      status: 'authorized',
      amountCaptured: 500,
      captures: [
        { providerCaptureId: 'cap_1', amount: 300 },
        { providerCaptureId: 'cap_2', amount: 200 },
      ],
    },
    { captureIds: ['cap_1'] },
  );
  expect(r.action).toEqual({ kind: 'capture', amount: 200, final: false, providerCaptureId: 'cap_2' });
});

test('more captured than capturable, or less than recorded, is a mismatch the state machine refuses', () => {
  expect(nextProviderRepair(held(), { found: true, amountCaptured: 1500 })).toEqual({
    problem: 'provider_mismatch',
  });
  expect(
    nextProviderRepair(held({ status: 'captured', amountCapturable: 0, amountCaptured: 1000 }), {
      found: true,
      amountCaptured: 400,
    }),
  ).toEqual({ problem: 'provider_mismatch' });
});

test('refunds and voids at the provider become repairs; an unknown payment holding money is missing', () => {
  const captured = held({ status: 'captured', amountCapturable: 0, amountCaptured: 1000 });
  expect(
    nextProviderRepair(captured, {
      found: true,
      amountCaptured: 1000,
      amountRefunded: 250,
      refunds: [{ providerRefundId: 'sbxre_1', amount: 250 }],
    }).action,
  ).toEqual({ kind: 'refund', amount: 250, providerRefundId: 'sbxre_1' });
  expect(nextProviderRepair(held(), { found: true, status: 'voided' }).action).toEqual({ kind: 'void' });
  expect(nextProviderRepair(held(), { found: false })).toEqual({ problem: 'provider_missing' });
  expect(nextProviderRepair(held({ status: 'processing' }), { found: false })).toEqual({});
});

test('judge: no workflow for a live row is reported; a projection behind is re-projected', () => {
  const base: Inspection = {
    paymentId: 'pay_x',
    clientId: 'cli_x',
    projection: {
      status: 'authorized',
      amount: 1000,
      amountCapturable: 1000,
      amountCaptured: 0,
      amountRefunded: 0,
      provider: 'sandbox',
      providerReference: 'ref',
      updatedAt: '2026-12-01T00:00:00.000Z',
      createdAt: '2026-12-01T00:00:00.000Z',
      version: 2,
    },
    workflow: { found: false },
  };
  const opts = { staleBefore: '2026-12-02T00:00:00.000Z' };
  expect(judge(base, undefined, opts).problems).toEqual(['no_workflow']);
  const view = {
    ...base.projection,
    id: 'pay_x',
    status: 'captured',
    amountCapturable: 0,
    amountCaptured: 1000,
    amountDisputed: 0,
    currency: 'USD',
    capture: 'manual',
    paymentMethod: { token: 'tok_x', brand: 'visa', last4: '4242' },
    updatedAt: '2026-12-01T00:01:00.000Z',
  } as PaymentView;
  const v = judge({ ...base, workflow: { found: true, view, running: true } }, undefined, opts);
  expect(v.problems).toEqual(['projection_behind']);
  expect(v.differs).toEqual(['status', 'amountCapturable', 'amountCaptured', 'updatedAt']);
  expect(v.repair).toEqual({ reproject: true, action: undefined });
});
