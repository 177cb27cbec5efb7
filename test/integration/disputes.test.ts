/**
 * Disputes end to end through the HTTP API on the dev server: a real Stripe payment (localstripe),
 * a Stripe-signed `charge.dispute.created` from the disputes emulator (test/support/
 * localstripe-disputes.ts, Stripe's test-mode semantics) into POST /webhooks/stripe, the dispute
 * workflow and the payment workflow, PostgreSQL, and the card-data worker's evidence call to Stripe.
 *
 * Proves: the dispute reads back `needs_response` with the contract's shape and the payment shows
 * `amountDisputed`; a duplicate webhook changes nothing; a refund beyond captured - refunded -
 * disputed is 422; a card number in the evidence text or a file is 400 naming the field and nothing
 * is stored; evidence (a PDF) -> `under_review`, stored encrypted, and again -> 409; the outcome
 * webhook `won` reinstates the funds (amountDisputed back to 0) and the merchant hears
 * dispute.created / .updated / .closed; `ledger verify` is clean. A second dispute is accepted.
 * Roles: another merchant gets 404, admin and auditor read, auditor cannot write. A dispute whose
 * evidence is due within seconds (from the webhook's due_by) is lost at the deadline.
 *
 * With RECORD_DISPUTE_HISTORIES=1 the histories are written (payloads decrypted) to the replay
 * corpus: dispute-won, dispute-lost-deadline, dispute-accepted and payment-dispute-withdraw-reinstate.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeHistoryPayloads, historyFileText } from '../../cli/workflows';
import { findCardNumber } from '../../security/redaction';
import { disputeWorkflowId } from '../../workflows/dispute-messages';
import Stripe from 'stripe';
import { createProviderRegistry } from '../../activities/providers/registry';
import { createSandboxProvider } from '../../activities/providers/sandbox/adapter';
import { createStripeProvider } from '../../activities/providers/stripe/adapter';
import { disputeIdOf } from '../../api/disputes-service';
import { createLedgerRepo } from '../../db/ledger-repo';
import { buildWebhookVerifiers } from '../../workers/providers';
import {
  startLocalStripe,
  startStripeProxy,
  type LocalStripe,
  type StripeProxy,
} from '../support/localstripe';
import { createStripeDisputes, type StripeDisputes } from '../support/localstripe-disputes';
import { startStack, type Stack } from '../support/stack';
import { apiFor, eventsOf, newKey, VISA, waitFor, type Api } from './payments-support';

jest.setTimeout(90_000);

const SECRET = `whsec_${randomBytes(16).toString('hex')}`;
let ls: LocalStripe;
let proxy: StripeProxy;
let emu: StripeDisputes;
let direct: Stripe;
let stack: Stack;
let api: Api;
let clientId: string;

beforeAll(async () => {
  ls = await startLocalStripe();
  emu = createStripeDisputes({ webhookSecret: SECRET });
  proxy = await startStripeProxy(ls.port, { extensions: [emu.handle] });
  direct = new Stripe(ls.apiKey, {
    host: '127.0.0.1',
    port: ls.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const stripe = createStripeProvider({
    apiKey: ls.apiKey,
    webhookSecrets: [SECRET],
    host: '127.0.0.1',
    port: proxy.port,
    protocol: 'http',
    legacyPaymentMethodTypes: true,
  });
  stack = await startStack({
    providers: (pool) => createProviderRegistry([createSandboxProvider({ pool }), stripe]),
    webhooks: {
      verifiers: buildWebhookVerifiers({
        SETTLE_PROVIDERS: 'sandbox,stripe',
        STRIPE_WEBHOOK_SECRETS: SECRET,
      }),
    },
  });
  const auth = await stack.serviceAuth();
  clientId = auth.clientId;
  api = apiFor(stack, auth.authorization);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
  await ls?.stop();
});

async function disputedStripePayment(amount: number, disputed: number) {
  const res = await api.pay(amount, { provider: 'stripe', capture: 'automatic' });
  expect(res.status).toBe(201);
  const pi = res.body.providerReference as string;
  const latest = (await direct.paymentIntents.retrieve(pi)).latest_charge;
  const charge = typeof latest === 'string' ? latest : latest!.id;
  const opened = emu.open({ id: charge, amount: disputed, currency: 'usd', payment_intent: pi });
  return { paymentId: res.body.id as string, opened, disputeId: disputeIdOf('stripe', opened.dispute.id) };
}

const postStripe = (w: { body: string; header: string }) =>
  stack.http
    .post('/webhooks/stripe')
    .set('Content-Type', 'application/json')
    .set('Stripe-Signature', w.header)
    .send(w.body);

const getDispute = (id: string, authorization = api.authorization) =>
  stack.http.get(`/v1/disputes/${id}`).set('Authorization', authorization);

const evidence = (id: string, body: unknown, key = newKey('ev')) =>
  api.post(`/v1/disputes/${id}/evidence`, body, key);

const filesOf = async (disputeId: string) =>
  (
    await stack.pool.query<{ name: string; content_type: string; size: number; content_ct: Buffer }>(
      'SELECT name, content_type, size, content_ct FROM dispute_evidence_files WHERE dispute_id = $1',
      [disputeId],
    )
  ).rows;

async function record(workflowId: string, flow: string): Promise<void> {
  if (process.env.RECORD_DISPUTE_HISTORIES !== '1') return;
  const text = historyFileText(
    await decodeHistoryPayloads(await stack.client.workflow.getHandle(workflowId).fetchHistory()),
  );
  const found = findCardNumber(JSON.parse(text));
  if (found) throw new Error(`${flow}: history holds card data at ${found}`);
  fs.writeFileSync(path.join(__dirname, '..', 'replay', 'histories', `${flow}.json`), text);
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n(Delivered to the cardholder, signed receipt)\nendobj\n');

test('opened by a Stripe webhook, evidence, won: amounts, refunds, events and the ledger agree', async () => {
  const { paymentId, opened, disputeId } = await disputedStripePayment(1000, 600);
  const first = await postStripe(opened.webhook);
  expect(first.status).toBe(200);
  expect(first.body).toEqual({ received: true, outcome: 'applied' });
  expect((await postStripe(opened.webhook)).body).toEqual({ received: true, outcome: 'duplicate' });

  const listed = await waitFor(
    () => stack.http.get('/v1/disputes').query({ paymentId }).set('Authorization', api.authorization),
    (r) => r.body?.data?.length === 1,
    30_000,
    'the dispute projection',
  );
  const d = listed.body.data[0] as Record<string, unknown>;
  expect(Object.keys(d).sort()).toEqual(
    [
      'amount',
      'createdAt',
      'currency',
      'evidenceDueBy',
      'id',
      'paymentId',
      'reason',
      'status',
      'updatedAt',
    ].sort(),
  );
  expect(d).toMatchObject({
    id: disputeId,
    paymentId,
    amount: 600,
    currency: 'USD',
    reason: 'fraudulent',
    status: 'needs_response',
    evidenceDueBy: new Date(opened.dispute.evidence_details.due_by * 1000).toISOString(),
  });
  expect(listed.body.hasMore).toBe(false);
  const pay = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === 600,
    30_000,
    'withdrawal',
  );
  expect(pay.body).toMatchObject({ status: 'captured', amountCaptured: 1000, amountRefunded: 0 });

  // Refunds never reach disputed funds: 400 are left.
  const over = await api.refund(paymentId, { amount: 401 });
  expect(over.status).toBe(422);
  expect(over.body.error).toMatchObject({ code: 'amount_exceeds_captured' });
  expect((await api.refund(paymentId, { amount: 100 })).status).toBe(201);

  // A card number in the text or in a file: 400 naming the field, nothing stored or sent.
  const inText = await evidence(disputeId, { text: `Card ${VISA} was used by the cardholder` });
  expect(inText.status).toBe(400);
  expect(inText.body.error.details).toEqual({ field: 'text' });
  expect(JSON.stringify(inText.body)).not.toContain(VISA);
  const cardPdf = Buffer.concat([PDF, Buffer.from(`(${VISA})`)]);
  const inFile = await evidence(disputeId, {
    text: 'Receipt attached',
    files: [{ name: 'receipt.pdf', contentBase64: cardPdf.toString('base64') }],
  });
  expect(inFile.status).toBe(400);
  expect(inFile.body.error.details).toEqual({ field: 'files.0.contentBase64' });
  const notPdf = await evidence(disputeId, {
    text: 'Receipt attached',
    files: [{ name: 'receipt.pdf', contentBase64: Buffer.from('plain text').toString('base64') }],
  });
  expect([notPdf.status, notPdf.body.error.code]).toEqual([400, 'unsupported_file_type']);
  expect(await filesOf(disputeId)).toEqual([]);
  expect(emu.updates(opened.dispute.id)).toBe(0);

  // Evidence: under review, the file stored encrypted, the text and file sent to Stripe once.
  const key = newKey('ev');
  const body = {
    text: 'winning_evidence',
    files: [{ name: 'receipt.pdf', contentBase64: PDF.toString('base64') }],
  };
  const sent = await evidence(disputeId, body, key);
  expect(sent.status).toBe(200);
  expect(sent.body).toMatchObject({
    id: disputeId,
    status: 'under_review',
    evidenceSubmittedAt: expect.any(String),
  });
  const replay = await evidence(disputeId, body, key);
  expect([replay.status, replay.headers['idempotent-replayed']]).toEqual([200, 'true']);
  const stored = await filesOf(disputeId);
  expect(stored.map((f) => [f.name, f.content_type, f.size])).toEqual([
    ['receipt.pdf', 'application/pdf', PDF.length],
  ]);
  expect(stored[0]!.content_ct.includes(Buffer.from('signed receipt'))).toBe(false);
  expect(emu.updates(opened.dispute.id)).toBe(1);
  expect(emu.disputes.get(opened.dispute.id)?.evidence.uncategorized_text).toBe('winning_evidence');
  const again = await evidence(disputeId, { text: 'more' });
  expect(again.status).toBe(409);
  expect(again.body.error).toMatchObject({ type: 'conflict', details: { status: 'under_review' } });

  // The outcome: won -> the funds come back.
  expect(emu.disputes.get(opened.dispute.id)?.status).toBe('won');
  expect((await postStripe(emu.event('charge.dispute.closed', opened.dispute.id))).status).toBe(200);
  await waitFor(
    () => getDispute(disputeId),
    (r) => r.body?.status === 'won',
    30_000,
    'won',
  );
  const back = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === 0,
    30_000,
    'reinstated',
  );
  expect(back.body).toMatchObject({
    amountCaptured: 1000,
    amountRefunded: 100,
    status: 'partially_refunded',
  });

  const events = await waitFor(
    () => eventsOf(stack, disputeId),
    (e) => e.length === 3,
    30_000,
    'dispute events',
  );
  expect(events.map((e) => [e.type, e.data.status])).toEqual([
    ['dispute.created', 'needs_response'],
    ['dispute.updated', 'under_review'],
    ['dispute.closed', 'won'],
  ]);
  // The payment announced no status for its dispute commits: one payment.captured, one refund.
  const paymentEvents = (await eventsOf(stack, paymentId)).map((e) => e.type);
  expect(paymentEvents.filter((t) => t === 'payment.captured')).toHaveLength(1);

  const ledger = await createLedgerRepo(stack.pool).verify({ maxProblems: 20, clientId });
  expect(ledger.problems).toEqual([]);
  const kinds = await stack.pool.query<{ kind: string }>(
    'SELECT kind FROM ledger_entries WHERE payment_id = $1 ORDER BY created_at, id',
    [paymentId],
  );
  expect(kinds.rows.map((r) => r.kind).filter((k) => k.startsWith('dispute'))).toEqual([
    'dispute_withdrawal',
    'dispute_reinstatement',
  ]);
  await record(disputeWorkflowId(disputeId), 'dispute-won');
  await record(`payment-${paymentId}`, 'payment-dispute-withdraw-reinstate');
});

test('no evidence by evidenceDueBy: lost at the deadline, the funds stay withdrawn', async () => {
  const { paymentId, opened, disputeId } = await disputedStripePayment(700, 700);
  // The provider's due date is seconds away (both reminders are already past).
  opened.dispute.evidence_details.due_by = Math.floor(Date.now() / 1000) + 3;
  expect((await postStripe(emu.event('charge.dispute.created', opened.dispute.id))).status).toBe(200);
  const lost = await waitFor(
    () => getDispute(disputeId),
    (r) => r.body?.status === 'lost',
    30_000,
    'lost',
  );
  expect(lost.body).toMatchObject({ status: 'lost', amount: 700 });
  expect(lost.body.evidenceSubmittedAt).toBeUndefined();
  const late = await evidence(disputeId, { text: 'too late' });
  expect([late.status, late.body.error?.details?.status]).toEqual([409, 'lost']);
  expect((await api.get(paymentId)).body).toMatchObject({ amountDisputed: 700, amountCaptured: 700 });
  const events = await waitFor(
    () => eventsOf(stack, disputeId),
    (e) => e.length === 2,
    30_000,
    'events',
  );
  expect(events.map((e) => [e.type, e.data.status])).toEqual([
    ['dispute.created', 'needs_response'],
    ['dispute.closed', 'lost'],
  ]);
  await stack.client.workflow.getHandle(disputeWorkflowId(disputeId)).result();
  await record(disputeWorkflowId(disputeId), 'dispute-lost-deadline');
});

test('accepted: 200 accepted, the funds stay withdrawn; roles per the matrix', async () => {
  const { paymentId, opened, disputeId } = await disputedStripePayment(500, 500);
  expect((await postStripe(opened.webhook)).status).toBe(200);
  await waitFor(
    () => getDispute(disputeId),
    (r) => r.status === 200,
    30_000,
    'the dispute',
  );

  const other = apiFor(stack, (await stack.serviceAuth()).authorization);
  expect((await getDispute(disputeId, other.authorization)).status).toBe(404);
  expect((await other.post(`/v1/disputes/${disputeId}/accept`, {})).status).toBe(404);
  const auditor = await stack.operatorAuth('auditor');
  expect((await getDispute(disputeId, auditor.authorization)).status).toBe(200);
  const denied = await stack.http
    .post(`/v1/disputes/${disputeId}/accept`)
    .set('Authorization', auditor.authorization)
    .set('Idempotency-Key', newKey())
    .send({});
  expect(denied.status).toBe(403);
  const admin = await stack.operatorAuth('admin');
  const all = await stack.http
    .get('/v1/disputes')
    .query({ status: 'needs_response' })
    .set('Authorization', admin.authorization);
  expect(all.status).toBe(200);
  expect((all.body.data as Array<{ id: string }>).map((x) => x.id)).toContain(disputeId);

  const accepted = await api.post(`/v1/disputes/${disputeId}/accept`, {});
  expect(accepted.status).toBe(200);
  expect(accepted.body).toMatchObject({ id: disputeId, status: 'accepted' });
  expect(emu.disputes.get(opened.dispute.id)?.status).toBe('lost');
  const late = await evidence(disputeId, { text: 'too late' });
  expect(late.status).toBe(409);
  const pay = await waitFor(
    () => api.get(paymentId),
    (r) => r.body?.amountDisputed === 500,
    30_000,
    'withdrawn',
  );
  expect(pay.body.amountCaptured).toBe(500);
  const full = await api.refund(paymentId, {});
  expect(full.status).toBe(422);
  await stack.client.workflow.getHandle(disputeWorkflowId(disputeId)).result();
  await record(disputeWorkflowId(disputeId), 'dispute-accepted');
});

test('the runtime role gets only what disputes need: no UPDATE of stored evidence, no DELETE of disputes', async () => {
  const priv = await stack.pool.query<Record<string, unknown>>(
    `SELECT t AS table_name,
            has_table_privilege(t, 'SELECT') AS sel, has_table_privilege(t, 'INSERT') AS ins,
            has_table_privilege(t, 'UPDATE') AS upd, has_table_privilege(t, 'DELETE') AS del,
            has_table_privilege(t, 'TRUNCATE') AS trn
       FROM unnest(ARRAY['disputes', 'dispute_evidence_files']) AS t`,
  );
  expect(priv.rows).toEqual([
    { table_name: 'disputes', sel: true, ins: true, upd: true, del: false, trn: false },
    { table_name: 'dispute_evidence_files', sel: true, ins: true, upd: false, del: true, trn: false },
  ]);
});
