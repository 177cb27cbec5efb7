/**
 * The sandbox's webhooks, signed like a real provider's: `Sandbox-Signature: t=<unix>,v1=<hex
 * HMAC-SHA256(secret, "t.body")>` over the raw body, checked in constant time within 300 s either
 * way (a captured delivery cannot be replayed later or pre-dated). The body is the sandbox's own event:
 *
 *   { "id": "sbxevt_...", "type": "dispute.opened" | "dispute.updated" | "dispute.closed",
 *     "created": <unix>, "data": { "dispute": { "id", "reference", "paymentId", "amount",
 *     "currency", "reason", "status", "evidenceDueBy" } } }
 *
 * The outbox rows hold this body; webhook-sender.ts signs it at delivery, the API verifies it here.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../../domain/constant-time';
import {
  DISPUTE_STATUSES,
  type DisputeStatus,
  type ProviderEvent,
  type ProviderEventKind,
} from '../../../domain/providers';
import { ProviderError } from '../types';

export const SANDBOX_WEBHOOK_TOLERANCE_SECONDS = 300;
export const SANDBOX_SIGNATURE_HEADER = 'Sandbox-Signature';

const KINDS: ReadonlySet<string> = new Set(['dispute.opened', 'dispute.updated', 'dispute.closed']);

/** A dispute as the sandbox's events describe it. */
export interface SandboxDisputeBody {
  id: string;
  reference: string;
  paymentId: string;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidenceDueBy: string;
}

export interface SandboxEventBody {
  id: string;
  type: 'dispute.opened' | 'dispute.updated' | 'dispute.closed';
  created: number;
  data: { dispute: SandboxDisputeBody };
}

const hmac = (secret: string, t: number, body: Buffer | string) =>
  createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');

/** The header for `body` at unix time `t`. */
export function signSandboxWebhook(body: Buffer | string, secret: string, t: number): string {
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

function headerValue(headers: Record<string, string | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

const bad = (message: string) => ProviderError.invalid('sandbox', message, 400);

/** Verify the signature (constant time, 300 s tolerance), then parse and normalize the event. */
export function verifySandboxWebhook(
  rawBody: Buffer,
  headers: Record<string, string | undefined>,
  secret: string | undefined,
  nowMs: number = Date.now(),
): ProviderEvent {
  if (!secret) throw bad('No sandbox webhook secret configured');
  const header = headerValue(headers, SANDBOX_SIGNATURE_HEADER);
  if (!header) throw bad('Missing Sandbox-Signature header');
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.split('=', 2);
    if (k === 't' && v !== undefined && /^\d{1,12}$/.test(v)) t = Number(v);
    if (k === 'v1' && v !== undefined) signatures.push(v);
  }
  if (t === undefined || signatures.length === 0) throw bad('Malformed Sandbox-Signature header');
  const expected = hmac(secret, t, rawBody);
  if (!signatures.some((s) => constantTimeEqual(s, expected))) throw bad('Sandbox-Signature does not match');
  if (Math.abs(Math.floor(nowMs / 1000) - t) > SANDBOX_WEBHOOK_TOLERANCE_SECONDS)
    throw bad('Sandbox-Signature timestamp outside the 300 s tolerance');

  let event: unknown;
  try {
    event = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw bad('Sandbox webhook body is not JSON');
  }
  return normalizeSandboxEvent(event);
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown, re: RegExp) => (typeof v === 'string' && re.test(v) ? v : undefined);

/** A signed event -> ProviderEvent; a body that is not one of ours is refused as invalid. */
export function normalizeSandboxEvent(event: unknown): ProviderEvent {
  if (!isObj(event) || !isObj(event.data) || !isObj(event.data.dispute))
    throw bad('Sandbox webhook without a dispute');
  const d = event.data.dispute;
  const id = str(event.id, /^sbxevt_[A-Za-z0-9]{1,64}$/);
  const type = typeof event.type === 'string' && KINDS.has(event.type) ? event.type : undefined;
  const created =
    typeof event.created === 'number' && Number.isSafeInteger(event.created) ? event.created : 0;
  const disputeId = str(d.id, /^sbxdp_[A-Za-z0-9]{1,64}$/);
  const status = (DISPUTE_STATUSES as readonly string[]).includes(String(d.status))
    ? (d.status as DisputeStatus)
    : undefined;
  const amount =
    typeof d.amount === 'number' && Number.isSafeInteger(d.amount) && d.amount > 0 ? d.amount : 0;
  const currency = str(d.currency, /^[A-Z]{3}$/);
  const due = typeof d.evidenceDueBy === 'string' ? new Date(d.evidenceDueBy) : new Date(NaN);
  if (
    !id ||
    !type ||
    !created ||
    !disputeId ||
    !status ||
    !amount ||
    !currency ||
    Number.isNaN(due.getTime())
  )
    throw bad('Sandbox webhook event is malformed');
  const reference = str(d.reference, /^sbx_[A-Za-z0-9]{1,64}$/);
  const paymentId = str(d.paymentId, /^pay_[A-Za-z0-9]{1,64}$/);
  const reason = str(d.reason, /^[a-z_]{1,64}$/) ?? 'general';
  return {
    provider: 'sandbox',
    eventId: id,
    kind: type as ProviderEventKind,
    providerReference: reference,
    paymentId,
    amount,
    occurredAt: new Date(created * 1000).toISOString(),
    dispute: {
      providerDisputeId: disputeId,
      amount,
      currency,
      reason,
      status,
      evidenceDueBy: due.toISOString(),
    },
    raw: {
      id,
      type,
      created,
      dispute: { id: disputeId, reference, paymentId, amount, currency, reason, status },
    },
  };
}
