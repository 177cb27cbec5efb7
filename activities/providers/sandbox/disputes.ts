/**
 * The sandbox's disputes (docs/sandbox-provider.md "Disputes"), booked in sandbox_disputes; every
 * change writes its webhook into sandbox_webhook_outbox IN THE SAME TRANSACTION, so a change is never
 * announced without happening, nor happens unannounced (webhook-sender.ts delivers).
 *
 *   open      a capture of 41300 (or an automatic-capture authorization of 41300) disputes the
 *             captured amount: `needs_response`, reason `fraudulent`, evidence due in 7 days;
 *             event dispute.opened.
 *   evidence  only while needs_response and before the due date: `under_review` (event
 *             dispute.updated). Decided like Stripe test mode: text `winning_evidence` -> won,
 *             `losing_evidence` -> lost (event dispute.closed, DECISION_DELAY_MS later), anything else
 *             stays under review. Asked again: answered as it stands, nothing applied twice.
 *   accept    only while needs_response: `accepted` (event dispute.closed); asked again: as it stands.
 */
import type { Pool, PoolClient } from '../../../db/pool';
import { inTransaction } from '../../../db/transaction';
import { newId } from '../../../domain/ids';
import type { DisputeStatus } from '../../../domain/providers';
import {
  ProviderError,
  type AcceptDisputeRequest,
  type DisputeEvidenceRequest,
  type DisputeProviderResult,
} from '../types';
import type { SandboxDisputeBody, SandboxEventBody } from './webhook';

/** The amount (minor units) of a capture that opens a dispute. */
export const SANDBOX_DISPUTE_TRIGGER = 41300;
export const EVIDENCE_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** The decision is announced this long after the evidence, as its own later event. */
export const DECISION_DELAY_MS = 1_000;

export function sandboxEvidenceOutcome(text: string): 'won' | 'lost' | undefined {
  const t = text.trim();
  if (t === 'winning_evidence') return 'won';
  if (t === 'losing_evidence') return 'lost';
  return undefined;
}

interface DisputeRow {
  id: string;
  reference: string;
  payment_id: string;
  amount: string | number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  outcome: 'won' | 'lost' | null;
  decides_at: Date | null;
  evidence_due_by: Date;
}

/** The status as of `now`: a decision whose time has come has taken effect. */
export function sandboxDisputeStatus(row: Pick<DisputeRow, 'status' | 'outcome' | 'decides_at'>, now: Date) {
  return row.outcome && row.decides_at && row.decides_at <= now ? row.outcome : row.status;
}

function bodyOf(row: DisputeRow, status: DisputeStatus): SandboxDisputeBody {
  return {
    id: row.id,
    reference: row.reference,
    paymentId: row.payment_id,
    amount: Number(row.amount),
    currency: row.currency,
    reason: row.reason,
    status,
    evidenceDueBy: row.evidence_due_by.toISOString(),
  };
}

async function announce(
  c: PoolClient,
  type: SandboxEventBody['type'],
  dispute: SandboxDisputeBody,
  at: Date,
): Promise<void> {
  const id = newId('evt').replace(/^evt_/, 'sbxevt_');
  const body: SandboxEventBody = { id, type, created: Math.floor(at.getTime() / 1000), data: { dispute } };
  await c.query(
    'INSERT INTO sandbox_webhook_outbox (id, type, body, next_attempt_at) VALUES ($1, $2, $3, $4)',
    [id, type, JSON.stringify(body), at],
  );
}

/** Open the trigger's dispute on a captured transaction (inside the capture's transaction). */
export async function openSandboxDispute(
  c: PoolClient,
  tx: { reference: string; payment_id: string; currency: string },
  amount: number,
  now: Date,
): Promise<void> {
  const r = await c.query<DisputeRow>(
    `INSERT INTO sandbox_disputes (id, reference, payment_id, amount, currency, reason, status, evidence_due_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'fraudulent', 'needs_response', $6, $7, $7)
     ON CONFLICT (reference) DO NOTHING RETURNING *`,
    [
      newId('pay').replace(/^pay_/, 'sbxdp_'),
      tx.reference,
      tx.payment_id,
      amount,
      tx.currency,
      new Date(now.getTime() + EVIDENCE_WINDOW_MS),
      now,
    ],
  );
  const row = r.rows[0];
  if (row) await announce(c, 'dispute.opened', bodyOf(row, 'needs_response'), now);
}

/** Count the request (its attempts column) and lock the dispute's row for this transaction. */
const COUNT_REQUEST = {
  evidence_requests:
    'UPDATE sandbox_disputes SET evidence_requests = evidence_requests + 1 WHERE id = $1 RETURNING *',
  accept_requests:
    'UPDATE sandbox_disputes SET accept_requests = accept_requests + 1 WHERE id = $1 RETURNING *',
} as const;

async function lockDispute(
  c: PoolClient,
  id: string,
  counter: keyof typeof COUNT_REQUEST,
): Promise<DisputeRow> {
  const r = await c.query<DisputeRow>(COUNT_REQUEST[counter], [id]);
  const row = r.rows[0];
  if (!row) throw ProviderError.invalid('sandbox', 'no such sandbox dispute', 404);
  return row;
}

export function submitSandboxEvidence(
  pool: Pool,
  req: DisputeEvidenceRequest,
  now: Date,
): Promise<DisputeProviderResult> {
  return inTransaction(pool, async (c) => {
    const row = await lockDispute(c, req.providerDisputeId, 'evidence_requests');
    if (row.status !== 'needs_response') return { status: sandboxDisputeStatus(row, now) };
    if (row.evidence_due_by <= now)
      throw ProviderError.invalid('sandbox', 'the evidence due date has passed', 400);
    const outcome = sandboxEvidenceOutcome(req.text) ?? null;
    const decidesAt = outcome ? new Date(now.getTime() + DECISION_DELAY_MS) : null;
    await c.query(
      `UPDATE sandbox_disputes SET status = 'under_review', outcome = $2, decides_at = $3, evidence_text = $4,
         evidence_files = $5, evidence_submitted_at = $6, evidence_submissions = evidence_submissions + 1,
         updated_at = $6
       WHERE id = $1`,
      [row.id, outcome, decidesAt, req.text, req.files.length, now],
    );
    await announce(c, 'dispute.updated', bodyOf(row, 'under_review'), now);
    if (outcome && decidesAt) await announce(c, 'dispute.closed', bodyOf(row, outcome), decidesAt);
    return { status: 'under_review' };
  });
}

export function acceptSandboxDispute(
  pool: Pool,
  req: AcceptDisputeRequest,
  now: Date,
): Promise<DisputeProviderResult> {
  return inTransaction(pool, async (c) => {
    const row = await lockDispute(c, req.providerDisputeId, 'accept_requests');
    if (row.status !== 'needs_response') return { status: sandboxDisputeStatus(row, now) };
    await c.query(`UPDATE sandbox_disputes SET status = 'accepted', updated_at = $2 WHERE id = $1`, [
      row.id,
      now,
    ]);
    await announce(c, 'dispute.closed', bodyOf(row, 'accepted'), now);
    return { status: 'accepted' };
  });
}
