/**
 * Braintree disputes through the real `braintree` SDK against the local gateway emulator's dispute
 * endpoints (test/support/braintree-gateway/disputes.ts): a real settled sale, disputed there.
 *
 * Braintree has no idempotency keys: the adapter looks the dispute up first and sends only what is
 * missing. Proves: evidence (text + a document through documentUpload) is added and finalized once
 * even when the call is repeated, including after a finalize whose answer was lost; accept once;
 * every dispute notification kind parses into the right kind, status and payment (orderId).
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { newId } from '../../../domain/ids';
import { createBraintreeProvider } from '../../../activities/providers/braintree/adapter';
import type { PaymentProvider } from '../../../activities/providers/types';
import { startBraintreeGateway, type BraintreeEmulator } from '../../support/braintree-gateway';

const KEYS = { merchantId: 'settle_merchant', publicKey: 'settle_public_d', privateKey: 'settle_private_d' };
const VISA = { number: '4111111111111111', expMonth: 12, expYear: 2030, cvc: '123' };

let gw: BraintreeEmulator;
let provider: PaymentProvider;

beforeAll(async () => {
  gw = await startBraintreeGateway(KEYS);
  provider = createBraintreeProvider({
    ...KEYS,
    environment: 'development',
    gatewayHost: '127.0.0.1',
    gatewayPort: gw.port,
    timeoutMs: 1500,
  });
});
afterEach(() => gw.reset());
afterAll(async () => {
  await gw?.stop();
});

async function disputedSale(amount = 41300) {
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
  const dispute = gw.disputes.open(auth.providerReference);
  const ids = {
    disputeId: `dp_${newId('pay').slice(4)}`,
    providerDisputeId: dispute.id,
    paymentId,
    providerReference: auth.providerReference,
  };
  return { paymentId, reference: auth.providerReference, dispute, ids };
}

const parse = (n: { bt_signature: string; bt_payload: string }) =>
  provider.parseWebhook(Buffer.from(new URLSearchParams(n).toString()), {});

const pdf = { name: 'receipt.pdf', contentType: 'application/pdf', content: Buffer.from('%PDF-1.4 receipt') };

test('evidence (text + document) is added and finalized once, even when the call is repeated', async () => {
  const { dispute, ids } = await disputedSale();
  const req = { ...ids, text: 'compellingevidence', files: [pdf] };
  const staged = () => readdirSync(tmpdir()).filter((f) => f.startsWith('settle-evidence-')).length;
  const stagedBefore = staged();
  await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
  // The decrypted file staged for the SDK's upload is gone once the call returns.
  expect(staged()).toBe(stagedBefore);
  await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });

  expect(dispute.status).toBe('disputed');
  expect(dispute.finalized).toBe(1);
  expect(dispute.evidence.map((e) => (e.comment ? `text:${e.comment}` : 'document'))).toEqual([
    'text:compellingevidence',
    'document',
  ]);
  const doc = gw.disputes.documents.get(dispute.evidence[1]!.documentId!);
  expect(doc).toMatchObject({ kind: 'evidence_document', name: 'evidence-0.pdf', size: pdf.content.length });
  // The second call only looked (GET), it wrote nothing.
  const calls = gw.requests.filter((r) => r.path.includes(dispute.id) || r.path === '/document_uploads');
  expect(calls.map((r) => `${r.method} ${r.path.replace(dispute.id, ':id')}`)).toEqual([
    'GET /disputes/:id',
    'POST /disputes/:id/evidence',
    'POST /document_uploads',
    'POST /disputes/:id/evidence',
    'PUT /disputes/:id/finalize',
    'GET /disputes/:id',
  ]);

  // Braintree's sandbox decides by the text: won.
  gw.disputes.decide(dispute.id);
  const won = await parse(gw.disputes.notification('dispute_won', dispute.id));
  expect(won).toMatchObject({
    kind: 'dispute.closed',
    providerReference: ids.providerReference,
    paymentId: ids.paymentId,
    dispute: { providerDisputeId: dispute.id, status: 'won' },
  });
});

test('a lost answer after the text: the retry adds only the document, then finalizes', async () => {
  const { dispute, ids } = await disputedSale();
  gw.loseNextResponse((m, p) => m === 'POST' && p === `/disputes/${dispute.id}/evidence`);
  const req = { ...ids, text: 'some text', files: [pdf] };
  await expect(provider.submitDisputeEvidence(req)).rejects.toMatchObject({
    failureType: 'ProviderOutcomeUnknown',
  });
  expect(dispute.evidence).toHaveLength(1);
  await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
  expect(dispute.evidence.map((e) => (e.comment ? 'text' : 'document'))).toEqual(['text', 'document']);
  expect(dispute.finalized).toBe(1);
});

test('a lost finalize answer: the retry finds it finalized and sends nothing', async () => {
  const { dispute, ids } = await disputedSale();
  gw.loseNextResponse((m, p) => m === 'PUT' && p === `/disputes/${dispute.id}/finalize`);
  const req = { ...ids, text: 'losingevidence', files: [] };
  await expect(provider.submitDisputeEvidence(req)).rejects.toMatchObject({
    failureType: 'ProviderOutcomeUnknown',
  });
  await expect(provider.submitDisputeEvidence(req)).resolves.toEqual({ status: 'under_review' });
  expect(dispute.finalized).toBe(1);
  expect(dispute.evidence).toHaveLength(1);
  gw.disputes.decide(dispute.id);
  await expect(parse(gw.disputes.notification('dispute_lost', dispute.id))).resolves.toMatchObject({
    kind: 'dispute.closed',
    dispute: { status: 'lost' },
  });
});

test('accept once; a repeat answers accepted without another write', async () => {
  const { dispute, ids } = await disputedSale();
  await expect(provider.acceptDispute(ids)).resolves.toEqual({ status: 'accepted' });
  await expect(provider.acceptDispute(ids)).resolves.toEqual({ status: 'accepted' });
  expect(dispute.accepted).toBe(1);
  // Evidence for an accepted dispute is not sent: answered as it stands.
  await expect(provider.submitDisputeEvidence({ ...ids, text: 'late', files: [] })).resolves.toEqual({
    status: 'accepted',
  });
  expect(dispute.evidence).toHaveLength(0);
});

test('an unknown dispute is an invalid request (no retry), not an outage', async () => {
  const { ids } = await disputedSale();
  await expect(provider.acceptDispute({ ...ids, providerDisputeId: 'nosuchdispute' })).rejects.toMatchObject({
    failureType: 'ProviderInvalidRequest',
  });
});

test.each([
  ['dispute_opened', 'dispute.opened', 'needs_response', 'open'],
  ['dispute_under_review', 'dispute.updated', 'under_review', 'under_review'],
  ['dispute_disputed', 'dispute.updated', 'under_review', 'disputed'],
  ['dispute_won', 'dispute.closed', 'won', 'won'],
  ['dispute_lost', 'dispute.closed', 'lost', 'lost'],
  ['dispute_accepted', 'dispute.closed', 'accepted', 'accepted'],
  ['dispute_auto_accepted', 'dispute.closed', 'accepted', 'auto_accepted'],
  ['dispute_expired', 'dispute.closed', 'lost', 'expired'],
])('%s -> %s with status %s', async (kind, expectedKind, status, btStatus) => {
  const { dispute, ids } = await disputedSale(1234);
  dispute.status = btStatus;
  const ev = await parse(gw.disputes.notification(kind, dispute.id));
  expect(ev).toMatchObject({
    provider: 'braintree',
    kind: expectedKind,
    providerReference: ids.providerReference,
    paymentId: ids.paymentId,
    amount: 1234,
    dispute: {
      providerDisputeId: dispute.id,
      amount: 1234,
      currency: 'USD',
      reason: 'fraud',
      status,
      evidenceDueBy: `${dispute.replyByDate}T00:00:00.000Z`,
    },
  });
});

test('a notification signed with another key is refused', async () => {
  const { dispute } = await disputedSale();
  const n = gw.disputes.notification('dispute_opened', dispute.id);
  const forged = { ...n, bt_signature: `${KEYS.publicKey}|${'0'.repeat(40)}` };
  await expect(parse(forged)).rejects.toMatchObject({ failureType: 'ProviderInvalidRequest' });
});
