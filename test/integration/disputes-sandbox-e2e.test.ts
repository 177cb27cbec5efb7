/**
 * Sandbox disputes end to end through the engine, the way `npm start` runs them: a capture of 41300
 * (docs/sandbox-provider.md "Disputes") opens a dispute in the sandbox's books; the sandbox's outbox
 * reaches THIS stack's API as signed webhooks (the card worker's sender, test/support/stack.ts
 * `sandboxWebhooks`) at POST /webhooks/sandbox; the dispute workflow, the payment workflow, the
 * card-data worker's evidence and accept calls back to the sandbox, PostgreSQL. Everything the test
 * does is through the HTTP API; it only reads the merchant events from their table (API.md has no
 * GET /v1/events) and runs the ledger verifier.
 *
 * Proves: the dispute appears as needs_response with the payment's amountDisputed = 41300 and a
 * refund refused (422); evidence `winning_evidence` -> 200 under_review -> won (the sandbox decides
 * as a later webhook) -> amountDisputed 0 and a refund goes through; `losing_evidence` -> lost, the
 * funds stay withdrawn; accept -> accepted. Each dispute announces dispute.created / .updated /
 * .closed; `ledger verify` is clean for the merchant. The payment worker's
 * settle_payment_transitions_total counts the capture and the refund, never the dispute's silent
 * commits (withdrawal, reinstatement: the status does not change).
 */
import { register } from 'prom-client';
import { createLedgerRepo } from '../../db/ledger-repo';
import { startStack, type Stack } from '../support/stack';
import { apiFor, eventsOf, newKey, waitFor, type Api } from './payments-support';

jest.setTimeout(120_000);

const TRIGGER = 41300;
let stack: Stack;
let api: Api;
let clientId: string;
/** This file's payments: the stack's sandbox sender delivers only their events. */
const mine: string[] = [];

beforeAll(async () => {
  stack = await startStack({ sandboxWebhooks: { onlyPayments: () => mine } });
  const auth = await stack.serviceAuth();
  clientId = auth.clientId;
  api = apiFor(stack, auth.authorization);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const getDispute = (id: string) =>
  stack.http.get(`/v1/disputes/${id}`).set('Authorization', api.authorization);

/** Pay 41300 (manual), capture it: the sandbox's dispute reaches the API as a webhook. */
async function disputedPayment(): Promise<{ paymentId: string; disputeId: string }> {
  const paid = await api.pay(TRIGGER, { capture: 'manual' });
  expect(paid.status).toBe(201);
  const paymentId = paid.body.id as string;
  mine.push(paymentId);
  const captured = await api.capture(paymentId);
  expect(captured.status).toBe(200);
  expect(captured.body).toMatchObject({ status: 'captured', amountCaptured: TRIGGER });

  const listed = await waitFor(
    () => stack.http.get('/v1/disputes').query({ paymentId }).set('Authorization', api.authorization),
    (r) => r.body?.data?.length === 1,
    30_000,
    'the dispute from the sandbox webhook',
  );
  expect(listed.status).toBe(200);
  const d = listed.body.data[0] as Record<string, unknown>;
  expect(d).toMatchObject({
    id: expect.stringMatching(/^dp_/),
    paymentId,
    amount: TRIGGER,
    currency: 'USD',
    reason: 'fraudulent',
    status: 'needs_response',
  });
  const due = Date.parse(String(d.evidenceDueBy)) - Date.now();
  expect(due).toBeGreaterThan(6 * 86_400_000);
  expect(due).toBeLessThanOrEqual(7 * 86_400_000);

  const pay = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === TRIGGER,
    30_000,
    'the withdrawal',
  );
  expect(pay.body).toMatchObject({ status: 'captured', amountCaptured: TRIGGER, amountRefunded: 0 });
  return { paymentId, disputeId: d.id as string };
}

async function disputeEvents(disputeId: string, count: number) {
  const events = await waitFor(
    () => eventsOf(stack, disputeId),
    (e) => e.length >= count,
    30_000,
    'dispute events',
  );
  return events.map((e) => [e.type, e.data.status]);
}

/** settle_payment_transitions_total over all labels (this file's in-process payment worker). */
async function transitions(): Promise<number> {
  const metric = (await register.getMetricsAsJSON()).find(
    (m) => m.name === 'settle_payment_transitions_total',
  );
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

const evidence = (disputeId: string, text: string) =>
  api.post(`/v1/disputes/${disputeId}/evidence`, { text }, newKey('ev'));

test('winning_evidence: under review, then won as a later webhook; the funds come back', async () => {
  const beforeCapture = await transitions();
  const { paymentId, disputeId } = await disputedPayment();
  // authorized, captured: two transitions; the withdrawal (already visible) is none.
  expect((await transitions()) - beforeCapture).toBe(2);
  const refused = await api.refund(paymentId, { amount: 1 });
  expect(refused.status).toBe(422);
  expect(refused.body.error).toMatchObject({ code: 'amount_exceeds_captured' });

  const sent = await evidence(disputeId, 'winning_evidence');
  expect(sent.status).toBe(200);
  expect(sent.body).toMatchObject({
    id: disputeId,
    status: 'under_review',
    evidenceSubmittedAt: expect.any(String),
  });

  const won = await waitFor(
    () => getDispute(disputeId),
    (r) => r.body?.status === 'won',
    30_000,
    'won',
  );
  expect(won.body).toMatchObject({ id: disputeId, amount: TRIGGER });
  const back = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === 0,
    30_000,
    'reinstated',
  );
  expect(back.body).toMatchObject({ status: 'captured', amountCaptured: TRIGGER });
  expect((await transitions()) - beforeCapture).toBe(2);
  const refund = await api.refund(paymentId, { amount: 1000 });
  expect(refund.status).toBe(201);
  const after = await api.waitForStatus(paymentId, 'partially_refunded');
  expect(after).toMatchObject({ amountRefunded: 1000, amountDisputed: 0 });
  expect((await transitions()) - beforeCapture).toBe(3);

  expect(await disputeEvents(disputeId, 3)).toEqual([
    ['dispute.created', 'needs_response'],
    ['dispute.updated', 'under_review'],
    ['dispute.closed', 'won'],
  ]);
});

test('losing_evidence: lost, the funds stay withdrawn', async () => {
  const { paymentId, disputeId } = await disputedPayment();
  const sent = await evidence(disputeId, 'losing_evidence');
  expect([sent.status, sent.body.status]).toEqual([200, 'under_review']);
  await waitFor(
    () => getDispute(disputeId),
    (r) => r.body?.status === 'lost',
    30_000,
    'lost',
  );
  expect(await disputeEvents(disputeId, 3)).toEqual([
    ['dispute.created', 'needs_response'],
    ['dispute.updated', 'under_review'],
    ['dispute.closed', 'lost'],
  ]);
  expect((await api.get(paymentId)).body).toMatchObject({
    status: 'captured',
    amountCaptured: TRIGGER,
    amountDisputed: TRIGGER,
  });
  const refused = await api.refund(paymentId, {});
  expect(refused.status).toBe(422);
});

test('accept: accepted, the funds stay withdrawn; the ledger verifies clean', async () => {
  const { paymentId, disputeId } = await disputedPayment();
  const accepted = await api.post(`/v1/disputes/${disputeId}/accept`, {}, newKey('acc'));
  expect(accepted.status).toBe(200);
  expect(accepted.body).toMatchObject({ id: disputeId, status: 'accepted' });
  const late = await evidence(disputeId, 'winning_evidence');
  expect([late.status, late.body.error?.details?.status]).toEqual([409, 'accepted']);
  expect(await disputeEvents(disputeId, 2)).toEqual([
    ['dispute.created', 'needs_response'],
    ['dispute.closed', 'accepted'],
  ]);
  expect((await api.get(paymentId)).body).toMatchObject({ amountDisputed: TRIGGER });

  // Every webhook this file's payments caused reaches the API (the acceptance's dispute.closed, which
  // the engine already knew, too): none left failing in the outbox.
  const undelivered = () =>
    stack.pool.query<{ type: string; last_error: string | null }>(
      `SELECT type, last_error FROM sandbox_webhook_outbox
        WHERE body->'data'->'dispute'->>'paymentId' = ANY ($1::text[]) AND delivered_at IS NULL`,
      [mine],
    );
  await waitFor(undelivered, (r) => r.rows.length === 0, 30_000, 'the outbox to drain');

  const ledger = await createLedgerRepo(stack.pool).verify({ maxProblems: 20, clientId });
  expect(ledger.problems).toEqual([]);
});
