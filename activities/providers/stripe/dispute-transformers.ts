/**
 * Stripe disputes, pure maps both ways (like transformers.ts): evidence and acceptance requests with
 * their deterministic Idempotency-Keys, and Stripe Dispute objects -> our dispute status and facts.
 * Table-tested in test/unit/providers/stripe-transformers.test.ts.
 *
 *   evidence  each file: POST /v1/files (purpose dispute_evidence, key `<dp_id>:evidence:file:<n>`),
 *             then POST /v1/disputes/:id { evidence: { uncategorized_text, <file fields> }, submit:
 *             true } with key `<dp_id>:evidence`: Stripe runs it once and replays its answer.
 *   accept    POST /v1/disputes/:id/close with key `<dp_id>:accept`.
 */
import type Stripe from 'stripe';
import {
  ProviderError,
  disputeIdempotencyKeys,
  type AcceptDisputeRequest,
  type DisputeEvidenceFile,
  type DisputeEvidenceRequest,
  type DisputeProviderResult,
} from '../types';
import type { DisputeStatus, ProviderDisputeFacts } from '../../../domain/providers';
import { fromStripeAmount } from './codes';
import type { StripeWrite, StripeWriteOn } from './transformers';

/**
 * Stripe takes one file per evidence field. The first file is the uncategorized one; further files
 * fill these fields in order (Stripe shows each to the issuer; the field names only label them).
 */
export const STRIPE_EVIDENCE_FILE_FIELDS = [
  'uncategorized_file',
  'customer_communication',
  'receipt',
  'service_documentation',
  'shipping_documentation',
  'refund_policy',
  'cancellation_policy',
  'duplicate_charge_documentation',
  'customer_signature',
] as const;

/** Where our dispute id is written on the Stripe dispute (ids only). */
export const META_DISPUTE = 'settle_dispute_id';

/** One POST /v1/files per evidence file, each with its own key derived from the evidence key. */
export function disputeFileCreateRequests(
  req: DisputeEvidenceRequest,
): Array<StripeWrite<Stripe.FileCreateParams>> {
  if (req.files.length > STRIPE_EVIDENCE_FILE_FIELDS.length) {
    throw ProviderError.invalid(
      'stripe',
      `Stripe accepts at most ${STRIPE_EVIDENCE_FILE_FIELDS.length} evidence files`,
      400,
    );
  }
  const key = disputeIdempotencyKeys.evidence(req.disputeId);
  return req.files.map((f: DisputeEvidenceFile, i) => ({
    params: {
      purpose: 'dispute_evidence',
      file: { data: f.content, name: f.name, type: f.contentType },
    },
    options: { idempotencyKey: `${key}:file:${i}` },
  }));
}

/** The evidence (text + uploaded file ids) submitted for review in the same call. */
export function disputeEvidenceUpdateRequest(
  req: DisputeEvidenceRequest,
  fileIds: readonly string[],
): StripeWriteOn<Stripe.DisputeUpdateParams> {
  const evidence: Record<string, string> = { uncategorized_text: req.text };
  fileIds.forEach((id, i) => {
    const field = STRIPE_EVIDENCE_FILE_FIELDS[i];
    if (field) evidence[field] = id;
  });
  return {
    id: req.providerDisputeId,
    params: {
      evidence,
      submit: true,
      metadata: { [META_DISPUTE]: req.disputeId },
    },
    options: { idempotencyKey: disputeIdempotencyKeys.evidence(req.disputeId) },
  };
}

/** Conceding: POST /v1/disputes/:id/close. */
export function disputeCloseRequest(req: AcceptDisputeRequest): StripeWriteOn<Stripe.DisputeCloseParams> {
  return {
    id: req.providerDisputeId,
    params: {},
    options: { idempotencyKey: disputeIdempotencyKeys.accept(req.disputeId) },
  };
}

/**
 * Stripe dispute status -> ours. `warning_*` are inquiries (no funds withdrawn yet): an inquiry
 * closed without a chargeback (`warning_closed`) and a `prevented` one end in the merchant's favour.
 * Anything unknown is treated as under review: nothing to do but wait for the next event.
 */
export function stripeDisputeStatus(status: string | null | undefined): DisputeStatus {
  switch (status) {
    case 'warning_needs_response':
    case 'needs_response':
      return 'needs_response';
    case 'won':
    case 'warning_closed':
    case 'prevented':
      return 'won';
    case 'lost':
      return 'lost';
    default:
      return 'under_review';
  }
}

/** Whether evidence may still be sent: otherwise an earlier attempt (or Stripe) already moved on. */
export const stripeDisputeAwaitsEvidence = (d: Pick<Stripe.Dispute, 'status'>): boolean =>
  stripeDisputeStatus(d.status) === 'needs_response';

export function evidenceResultFromDispute(d: Pick<Stripe.Dispute, 'status'>): DisputeProviderResult {
  return { status: stripeDisputeStatus(d.status) };
}

/** A dispute we closed reads `lost` at Stripe: for us it is accepted (conceded, not decided). */
export function acceptResultFromDispute(d: Pick<Stripe.Dispute, 'status'>): DisputeProviderResult {
  const status = stripeDisputeStatus(d.status);
  return { status: status === 'lost' ? 'accepted' : status };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;

/**
 * A dispute object from a `charge.dispute.*` event -> our facts. Undefined when it lacks what the
 * engine needs (id, amount, currency): the event is then stored but opens nothing.
 */
export function disputeFactsFromStripe(o: Obj): ProviderDisputeFacts | undefined {
  const id = typeof o.id === 'string' ? o.id : undefined;
  const currency = typeof o.currency === 'string' ? o.currency.toUpperCase() : undefined;
  const amount = typeof o.amount === 'number' && Number.isSafeInteger(o.amount) ? o.amount : undefined;
  if (!id || !currency || amount === undefined) return undefined;
  let minor: number;
  try {
    minor = fromStripeAmount(amount, currency);
  } catch {
    return undefined;
  }
  const dueBy = obj(o.evidence_details)?.due_by;
  return {
    providerDisputeId: id,
    amount: minor,
    currency,
    reason: typeof o.reason === 'string' && /^[a-z_]{1,64}$/.test(o.reason) ? o.reason : 'general',
    status: stripeDisputeStatus(typeof o.status === 'string' ? o.status : undefined),
    evidenceDueBy:
      typeof dueBy === 'number' && Number.isFinite(dueBy) ? new Date(dueBy * 1000).toISOString() : undefined,
  };
}
