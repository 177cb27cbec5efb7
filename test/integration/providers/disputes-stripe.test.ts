/**
 * Stripe disputes through the real `stripe` SDK: a real captured charge in localstripe, disputed by
 * the proxy's dispute extension (test/support/localstripe-disputes.ts: localstripe has no disputes;
 * the extension honours Idempotency-Key as Stripe does and decides like Stripe test mode).
 *
 * Proves: the created/updated/closed webhooks parse into dispute facts naming the PaymentIntent;
 * evidence (text + files) goes out with our keys and is applied ONCE when the call is repeated; the
 * decision arrives as charge.dispute.closed `won`; accepting closes the dispute once (`accepted`).
 */
import Stripe from 'stripe';
import { newId } from '../../../domain/ids';
import { createStripeProvider } from '../../../activities/providers/stripe/adapter';
import type { PaymentProvider } from '../../../activities/providers/types';
import {
  startLocalStripe,
  startStripeProxy,
  type LocalStripe,
  type StripeProxy,
} from '../../support/localstripe';
import { createStripeDisputes, type StripeDisputes } from '../../support/localstripe-disputes';

const SECRET = 'whsec_disputes_settle_test';
const VISA = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };

let ls: LocalStripe;
let proxy: StripeProxy;
let disputes: StripeDisputes;
let provider: PaymentProvider;
let direct: Stripe;

beforeAll(async () => {
  ls = await startLocalStripe();
  disputes = createStripeDisputes({ webhookSecret: SECRET });
  proxy = await startStripeProxy(ls.port, { extensions: [disputes.handle] });
  provider = createStripeProvider({
    apiKey: ls.apiKey,
    webhookSecrets: [SECRET],
    host: '127.0.0.1',
    port: proxy.port,
    protocol: 'http',
    timeoutMs: 3000,
    legacyPaymentMethodTypes: true,
  });
  direct = new Stripe(ls.apiKey, {
    host: '127.0.0.1',
    port: ls.port,
    protocol: 'http',
    maxNetworkRetries: 0,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await ls?.stop();
});

/** A captured payment at Stripe, disputed: our ids, the PaymentIntent, and the created webhook. */
async function disputedPayment(amount = 41300) {
  const paymentId = newId('pay');
  const auth = await provider.authorize({
    paymentId,
    idempotencyKey: `${paymentId}:authorize`,
    amount,
    currency: 'USD',
    capture: 'automatic',
    card: VISA,
  });
  if (auth.outcome !== 'authorized') throw new Error('authorization failed');
  const pi = await direct.paymentIntents.retrieve(auth.providerReference, { expand: ['latest_charge'] });
  const charge = pi.latest_charge as Stripe.Charge;
  const opened = disputes.open({
    id: charge.id,
    amount: charge.amount,
    currency: charge.currency,
    payment_intent: pi.id,
  });
  return {
    paymentId,
    pi,
    charge,
    dispute: opened.dispute,
    webhook: opened.webhook,
    disputeId: `dp_${newId('pay').slice(4)}`,
  };
}

const parse = (w: { body: string; header: string }) =>
  provider.parseWebhook(Buffer.from(w.body), { 'Stripe-Signature': w.header });

test('charge.dispute.created -> dispute.opened with the facts and the PaymentIntent', async () => {
  const d = await disputedPayment();
  const ev = await parse(d.webhook);
  expect(ev).toMatchObject({
    provider: 'stripe',
    kind: 'dispute.opened',
    providerReference: d.pi.id,
    amount: 41300,
    dispute: {
      providerDisputeId: d.dispute.id,
      amount: 41300,
      currency: 'USD',
      reason: 'fraudulent',
      status: 'needs_response',
      evidenceDueBy: new Date(d.dispute.evidence_details.due_by * 1000).toISOString(),
    },
  });
  // Nothing card-like in what is stored for audit.
  expect(JSON.stringify(ev.raw)).not.toMatch(/4242|last4|exp_/);
});

test('evidence with files is submitted once with our keys, even when the call is repeated', async () => {
  const d = await disputedPayment();
  const req = {
    disputeId: d.disputeId,
    providerDisputeId: d.dispute.id,
    paymentId: d.paymentId,
    providerReference: d.pi.id,
    text: 'winning_evidence',
    files: [
      { name: 'receipt.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 receipt') },
      { name: 'chat.png', contentType: 'image/png', content: Buffer.from('\x89PNG chat') },
    ],
  };
  const from = proxy.requests.length;
  const first = await provider.submitDisputeEvidence(req);
  const again = await provider.submitDisputeEvidence(req);
  expect(first).toEqual({ status: 'under_review' });
  expect(again).toEqual({ status: 'under_review' }); // Stripe replays the first answer for the key

  const writes = proxy.requests.slice(from).filter((r) => r.method === 'POST');
  expect(writes.map((w) => [w.path.replace(d.dispute.id, 'dp_*'), w.idempotencyKey])).toEqual([
    ['/v1/files', `${d.disputeId}:evidence:file:0`],
    ['/v1/files', `${d.disputeId}:evidence:file:1`],
    ['/v1/disputes/dp_*', `${d.disputeId}:evidence`],
    ['/v1/files', `${d.disputeId}:evidence:file:0`],
    ['/v1/files', `${d.disputeId}:evidence:file:1`],
    ['/v1/disputes/dp_*', `${d.disputeId}:evidence`],
  ]);
  // Applied once: one submission, two files uploaded, both attached.
  const stored = disputes.disputes.get(d.dispute.id)!;
  expect(disputes.updates(d.dispute.id)).toBe(1);
  expect(stored.evidence_details.submission_count).toBe(1);
  expect(disputes.files.size).toBeGreaterThanOrEqual(2);
  expect(stored.evidence.uncategorized_text).toBe('winning_evidence');
  expect(disputes.files.get(stored.evidence.uncategorized_file!)).toMatchObject({ size: 16 });
  expect(disputes.files.get(stored.evidence.customer_communication!)).toBeDefined();
  expect(stored.metadata).toEqual({ settle_dispute_id: d.disputeId });

  // Stripe test mode decided it: the closed event says won.
  const closed = await parse(disputes.event('charge.dispute.closed', d.dispute.id));
  expect(closed).toMatchObject({
    kind: 'dispute.closed',
    providerReference: d.pi.id,
    dispute: { status: 'won' },
  });
});

test('the under-review update and a lost decision parse as dispute.updated / dispute.closed lost', async () => {
  const d = await disputedPayment();
  const updated = await parse(disputes.event('charge.dispute.updated', d.dispute.id));
  expect(updated).toMatchObject({ kind: 'dispute.updated', dispute: { status: 'needs_response' } });
  await provider.submitDisputeEvidence({
    disputeId: d.disputeId,
    providerDisputeId: d.dispute.id,
    paymentId: d.paymentId,
    providerReference: d.pi.id,
    text: 'losing_evidence',
    files: [],
  });
  const closed = await parse(disputes.event('charge.dispute.closed', d.dispute.id));
  expect(closed).toMatchObject({ kind: 'dispute.closed', dispute: { status: 'lost' } });
});

test('accepting closes the dispute once with <dp_id>:accept; a repeat answers accepted', async () => {
  const d = await disputedPayment();
  const req = {
    disputeId: d.disputeId,
    providerDisputeId: d.dispute.id,
    paymentId: d.paymentId,
    providerReference: d.pi.id,
  };
  const from = proxy.requests.length;
  await expect(provider.acceptDispute(req)).resolves.toEqual({ status: 'accepted' });
  await expect(provider.acceptDispute(req)).resolves.toEqual({ status: 'accepted' });
  const writes = proxy.requests.slice(from).filter((r) => r.method === 'POST');
  expect(writes.map((w) => w.idempotencyKey)).toEqual([`${d.disputeId}:accept`, `${d.disputeId}:accept`]);
  expect(disputes.updates(d.dispute.id)).toBe(1);
  expect(disputes.disputes.get(d.dispute.id)?.status).toBe('lost');
});

test('evidence after the dispute was closed is answered from Stripe, not failed, and sends nothing more', async () => {
  const d = await disputedPayment();
  await provider.acceptDispute({
    disputeId: d.disputeId,
    providerDisputeId: d.dispute.id,
    paymentId: d.paymentId,
    providerReference: d.pi.id,
  });
  await expect(
    provider.submitDisputeEvidence({
      disputeId: d.disputeId,
      providerDisputeId: d.dispute.id,
      paymentId: d.paymentId,
      providerReference: d.pi.id,
      text: 'late',
      files: [],
    }),
  ).resolves.toEqual({ status: 'lost' });
  expect(disputes.updates(d.dispute.id)).toBe(1);
});

test('a Stripe outage during evidence is a retryable failure; the retry submits once', async () => {
  const d = await disputedPayment();
  const req = {
    disputeId: d.disputeId,
    providerDisputeId: d.dispute.id,
    paymentId: d.paymentId,
    providerReference: d.pi.id,
    text: 'winning_evidence',
    files: [],
  };
  proxy.failNext(1, 503);
  await expect(provider.submitDisputeEvidence(req)).rejects.toMatchObject({
    failureType: 'ProviderUnavailable',
  });
  await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
  expect(disputes.updates(d.dispute.id)).toBe(1);
});
