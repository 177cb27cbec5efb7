/**
 * Disputes (API.md "Disputes"): the statuses, the ONE state machine that decides which move is legal,
 * the contract's dispute object and the evidence limits. Pure and deterministic: the dispute workflow
 * (and its update validators), the API and the tests share it.
 *
 *   needs_response --evidence--> under_review --provider won|lost--> won | lost
 *        |  \--accept--> accepted
 *        |  \--deadline (evidenceDueBy, no evidence)--> lost
 *        '--provider under_review | won | lost | accepted--> that status
 *   won, lost, accepted are terminal: later provider reports change nothing.
 */
import { DISPUTE_STATUSES, type DisputeStatus } from './providers';

export { DISPUTE_STATUSES, type DisputeStatus };

export const TERMINAL_DISPUTE_STATUSES: ReadonlySet<DisputeStatus> = new Set(['won', 'lost', 'accepted']);

export type DisputeMove =
  /** The merchant's evidence went to the provider. */
  | { kind: 'evidence' }
  /** The merchant conceded at the provider. */
  | { kind: 'accept' }
  /** evidenceDueBy passed with no evidence. */
  | { kind: 'deadline' }
  /** What the provider reports (webhook). */
  | { kind: 'provider'; status: DisputeStatus };

export type DisputeDecision =
  { ok: true; next: DisputeStatus; changed: boolean } | { ok: false; message: string };

const refuse = (status: DisputeStatus, what: string): DisputeDecision => ({
  ok: false,
  message: `Cannot ${what} a dispute in status ${status}`,
});
const to = (from: DisputeStatus, next: DisputeStatus): DisputeDecision => ({
  ok: true,
  next,
  changed: next !== from,
});

/** Decide a move. The merchant's moves are refused outside needs_response; the provider's never are. */
export function disputeTransition(status: DisputeStatus, move: DisputeMove): DisputeDecision {
  const open = status === 'needs_response';
  switch (move.kind) {
    case 'evidence':
      return open ? to(status, 'under_review') : refuse(status, 'submit evidence for');
    case 'accept':
      return open ? to(status, 'accepted') : refuse(status, 'accept');
    case 'deadline':
      return open ? to(status, 'lost') : to(status, status);
    case 'provider': {
      // A terminal dispute is settled; a report that it "needs a response" again is stale.
      if (TERMINAL_DISPUTE_STATUSES.has(status) || move.status === 'needs_response')
        return to(status, status);
      // Accepting is the merchant's act: the provider reports it only for one still open.
      if (move.status === 'accepted' && !open) return to(status, status);
      return to(status, move.status);
    }
  }
}

/** The contract's dispute object. */
export interface DisputeView {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidenceDueBy: string;
  evidenceSubmittedAt?: string;
  createdAt: string;
  updatedAt: string;
}

/** A provider that gives no evidence deadline gets this long from the dispute's opening. */
export const DEFAULT_EVIDENCE_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;
/** Reminders to the merchant, this long before evidenceDueBy (one already past is skipped). */
export const REMINDERS_BEFORE_DUE_MS: readonly number[] = [7 * 24 * 60 * 60 * 1000, 2 * 24 * 60 * 60 * 1000];

/** The reminders still ahead at `now`, earliest first, as `{ at, daysBefore }`. */
export function pendingReminders(
  evidenceDueBy: string,
  now: number,
): Array<{ at: number; daysBefore: number }> {
  const due = Date.parse(evidenceDueBy);
  return REMINDERS_BEFORE_DUE_MS.map((ms) => ({ at: due - ms, daysBefore: Math.round(ms / 86_400_000) }))
    .filter((r) => r.at > now)
    .sort((a, b) => a.at - b.at);
}

/**
 * Evidence limits (docs/disputes.md). Providers cap a dispute's evidence at a few MiB per file and
 * under 10 MiB in all (Stripe: 5 MB per file upload for disputes, Braintree: 4 MB per document), and
 * accept PDF and images: the smallest common ground.
 */
export const EVIDENCE_LIMITS = {
  textChars: 20_000,
  files: 5,
  fileBytes: 4 * 1024 * 1024,
  totalBytes: 8 * 1024 * 1024,
  nameChars: 100,
} as const;

export const EVIDENCE_CONTENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg'] as const;
export type EvidenceContentType = (typeof EVIDENCE_CONTENT_TYPES)[number];

const startsWith = (bytes: Uint8Array, magic: readonly number[]) =>
  bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);

/** The file's type from its first bytes (never from its name); undefined: not an accepted type. */
export function evidenceContentType(bytes: Uint8Array): EvidenceContentType | undefined {
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf'; // %PDF-
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  return undefined;
}
