/**
 * Braintree disputes, pure maps both ways: the guard's plan for evidence and acceptance (Braintree has
 * no idempotency keys, so the adapter looks the dispute up first and sends only what is missing), and
 * SDK Dispute objects / notifications -> our status and facts. Table-tested in
 * test/unit/providers/braintree-transformers.test.ts.
 *
 * Evidence goes in a fixed order, text first, then each file: a retried attempt finds the pieces an
 * earlier attempt added (text by its content, files by how many documents are already there) and
 * adds only the rest, then finalizes. A dispute no longer `open` was finalized (or decided) already.
 */
import { decimalStringToMinor } from '../../../domain/money';
import type { DisputeStatus, ProviderDisputeFacts } from '../../../domain/providers';
import type { DisputeEvidenceFile, DisputeProviderResult } from '../types';
import type { BtDispute } from './sdk-types';

/**
 * Braintree dispute status -> ours. `disputed` means the merchant's response was sent (finalized);
 * `expired` means nobody answered in time, which the network decides against the merchant.
 */
export function braintreeDisputeStatus(status: string | null | undefined): DisputeStatus {
  switch (status) {
    case 'open':
      return 'needs_response';
    case 'won':
      return 'won';
    case 'lost':
    case 'expired':
      return 'lost';
    case 'accepted':
    case 'auto_accepted':
      return 'accepted';
    default:
      // disputed, under_review and anything new: the decision is pending.
      return 'under_review';
  }
}

export type EvidencePlan =
  | { kind: 'done'; result: DisputeProviderResult }
  | { kind: 'send'; addText: boolean; files: DisputeEvidenceFile[] };

/** What is left to send of this evidence on this dispute (see the header for the order). */
export function evidencePlan(d: BtDispute, text: string, files: DisputeEvidenceFile[]): EvidencePlan {
  if (d.status !== 'open') return { kind: 'done', result: { status: braintreeDisputeStatus(d.status) } };
  const evidence = d.evidence ?? [];
  const addText = !evidence.some((e) => e.comment === text);
  const documents = evidence.filter((e) => !e.comment && e.url).length;
  return { kind: 'send', addText, files: files.slice(documents) };
}

export type AcceptPlan = { kind: 'done'; result: DisputeProviderResult } | { kind: 'accept' };

export function acceptPlan(d: BtDispute): AcceptPlan {
  return d.status === 'open'
    ? { kind: 'accept' }
    : { kind: 'done', result: { status: braintreeDisputeStatus(d.status) } };
}

/** Braintree takes PDF, JPEG and PNG; the SDK sets the part's type from the file name's extension. */
const EXTENSIONS: Readonly<Record<string, string>> = {
  'application/pdf': 'pdf',
  'image/jpeg': 'jpg',
  'image/png': 'png',
};

/** A safe local name for the upload (never the merchant's own name: it reaches a file path). */
export function uploadFileName(f: DisputeEvidenceFile, index: number): string {
  const byType = EXTENSIONS[f.contentType.toLowerCase()];
  const byName = /\.(pdf|jpe?g|png)$/i.exec(f.name)?.[1]?.toLowerCase();
  return `evidence-${index}.${byType ?? byName ?? 'pdf'}`;
}

/** Braintree's reply-by date has no time: the start of that day (UTC), the safe side of it. */
export function replyByToIso(date: string | Date | null | undefined): string | undefined {
  if (!date) return undefined;
  const day = date instanceof Date ? date.toISOString().slice(0, 10) : String(date).slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const at = new Date(`${day}T00:00:00.000Z`);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/** The dispute of a notification -> our facts; undefined without an id, amount or currency. */
export function disputeFactsFromBraintree(d: {
  id?: string | undefined;
  status?: string | undefined;
  reason?: string | undefined;
  amount?: string | undefined;
  amountDisputed?: string | undefined;
  currencyIsoCode?: string | undefined;
  replyByDate?: string | Date | undefined;
}): ProviderDisputeFacts | undefined {
  const wire = d.amountDisputed ?? d.amount;
  if (!d.id || !wire || !d.currencyIsoCode) return undefined;
  let amount: number;
  try {
    amount = decimalStringToMinor(wire, d.currencyIsoCode);
  } catch {
    return undefined;
  }
  return {
    providerDisputeId: d.id,
    amount,
    currency: d.currencyIsoCode.toUpperCase(),
    reason: d.reason && /^[a-z_]{1,64}$/.test(d.reason) ? d.reason : 'general',
    status: braintreeDisputeStatus(d.status),
    evidenceDueBy: replyByToIso(d.replyByDate),
  };
}
