/**
 * The payment state machine: the ONLY place that decides which operation is legal in which status
 * and what it does to the amounts. Pure and deterministic, so the workflow (and its update
 * validators) and the tests share it.
 *
 *   processing --authorize ok (manual)--> authorized --capture(part)--> partially_captured
 *       |        --authorize ok (auto)--> captured        |  \--capture(all|final)--> captured
 *       |--decline--> declined                            |--void--> voided
 *       '--fail-----> failed                              '--expire--> expired
 *   partially_captured --capture--> partially_captured | captured ; --expire--> captured (rest released)
 *   partially_captured | captured | partially_refunded --refund--> (status from the amounts)
 *
 * Once money is captured, the status follows from the amounts (capturedStatus): still capturable ->
 * partially_captured (refunds of what was captured are allowed meanwhile); nothing refunded ->
 * captured; everything captured refunded -> refunded (terminal); otherwise partially_refunded.
 *
 * Disputes (domain/dispute.ts) withdraw funds and may reinstate them: `dispute_withdraw` takes
 * min(amount, captured - refunded - disputed) into amountDisputed, `dispute_reinstate` gives back
 * exactly what that dispute withdrew. Both are allowed in every status, change no status, and are
 * idempotent per dispute (the per-dispute records in `disputes`). Refunds never take disputed funds.
 */

export const PAYMENT_STATUSES = [
  'processing',
  'authorized',
  'partially_captured',
  'captured',
  'partially_refunded',
  'refunded',
  'voided',
  'declined',
  'expired',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<PaymentStatus> = new Set([
  'refunded',
  'voided',
  'declined',
  'expired',
  'failed',
]);

export type CaptureMode = 'manual' | 'automatic';

export interface Amounts {
  status: PaymentStatus;
  amount: number;
  amountCapturable: number;
  amountCaptured: number;
  amountRefunded: number;
  /** Funds withdrawn by open or lost disputes. Absent in states from before disputes: read as 0. */
  amountDisputed?: number | undefined;
  /** What each dispute withdrew (one record per dispute, kept after reinstatement). */
  disputes?: DisputeFunds[] | undefined;
}

export interface DisputeFunds {
  disputeId: string;
  /** What the withdrawal took (possibly 0: nothing was left to take). */
  withdrawn: number;
  reinstated: boolean;
}

export const disputedOf = (a: Pick<Amounts, 'amountDisputed'>): number => a.amountDisputed ?? 0;

export type Operation =
  | { kind: 'authorized'; capture: CaptureMode }
  | { kind: 'declined' }
  | { kind: 'failed' }
  | { kind: 'capture'; amount?: number | undefined; final?: boolean | undefined }
  | { kind: 'void' }
  | { kind: 'expire' }
  | { kind: 'refund'; amount?: number | undefined }
  | { kind: 'dispute_withdraw'; disputeId: string; amount: number }
  | { kind: 'dispute_reinstate'; disputeId: string };

export type Rejection = {
  /** `conflict` -> 409 with the current status; `amount` -> 422 with the code given. */
  kind: 'conflict' | 'amount';
  code: string;
  message: string;
};

export type Transition<T extends Amounts> =
  { ok: true; next: T; amount: number } | { ok: false; rejection: Rejection };

const conflict = (status: PaymentStatus, op: string): { ok: false; rejection: Rejection } => ({
  ok: false,
  rejection: {
    kind: 'conflict',
    code: 'invalid_state',
    message: `Cannot ${op} a payment in status ${status}`,
  },
});
const badAmount = (code: string, message: string): { ok: false; rejection: Rejection } => ({
  ok: false,
  rejection: { kind: 'amount', code, message },
});

type DisputeOperation = Extract<Operation, { kind: 'dispute_withdraw' | 'dispute_reinstate' }>;

/**
 * Which operations each status admits (used for docs, tests and fast validator checks). The dispute
 * operations are not listed: every status admits them.
 */
export const ALLOWED: Readonly<Record<PaymentStatus, ReadonlyArray<Operation['kind']>>> = {
  processing: ['authorized', 'declined', 'failed'],
  authorized: ['capture', 'void', 'expire'],
  partially_captured: ['capture', 'expire', 'refund'],
  captured: ['refund'],
  partially_refunded: ['refund'],
  refunded: [],
  voided: [],
  declined: [],
  expired: [],
  failed: [],
};

/** The status of a payment with captured money, from its amounts (one rule for every operation). */
export function capturedStatus(
  a: Pick<Amounts, 'amountCapturable' | 'amountCaptured' | 'amountRefunded'>,
): PaymentStatus {
  if (a.amountCapturable > 0) return 'partially_captured';
  if (a.amountRefunded === 0) return 'captured';
  return a.amountRefunded >= a.amountCaptured ? 'refunded' : 'partially_refunded';
}

/** Decide an operation. Returns the next amounts and the money moved, or a typed rejection. */
export function transition<T extends Amounts>(state: T, op: Operation): Transition<T> {
  if (op.kind === 'dispute_withdraw' || op.kind === 'dispute_reinstate') return disputeFunds(state, op);
  if (!ALLOWED[state.status].includes(op.kind)) return conflict(state.status, op.kind);
  switch (op.kind) {
    case 'authorized':
      return op.capture === 'automatic'
        ? {
            ok: true,
            amount: state.amount,
            next: { ...state, status: 'captured', amountCapturable: 0, amountCaptured: state.amount },
          }
        : {
            ok: true,
            amount: state.amount,
            next: { ...state, status: 'authorized', amountCapturable: state.amount },
          };
    case 'declined':
      return { ok: true, amount: 0, next: { ...state, status: 'declined', amountCapturable: 0 } };
    case 'failed':
      return { ok: true, amount: 0, next: { ...state, status: 'failed', amountCapturable: 0 } };
    case 'capture': {
      const amount = op.amount ?? state.amountCapturable;
      if (!Number.isSafeInteger(amount) || amount <= 0)
        return badAmount('invalid_amount', 'Capture amount must be a positive integer');
      if (amount > state.amountCapturable) {
        return badAmount(
          'amount_exceeds_capturable',
          `Capture amount exceeds the capturable amount ${state.amountCapturable}`,
        );
      }
      const captured = state.amountCaptured + amount;
      const rest = state.amountCapturable - amount;
      const done = op.final === true || rest === 0;
      return {
        ok: true,
        amount,
        next: {
          ...state,
          status: capturedStatus({
            amountCapturable: done ? 0 : rest,
            amountCaptured: captured,
            amountRefunded: state.amountRefunded,
          }),
          amountCaptured: captured,
          amountCapturable: done ? 0 : rest,
        },
      };
    }
    case 'void':
      return {
        ok: true,
        amount: state.amountCapturable,
        next: { ...state, status: 'voided', amountCapturable: 0 },
      };
    case 'expire':
      return {
        ok: true,
        amount: state.amountCapturable,
        next: {
          ...state,
          status: state.amountCaptured > 0 ? capturedStatus({ ...state, amountCapturable: 0 }) : 'expired',
          amountCapturable: 0,
        },
      };
    case 'refund': {
      const refundable = state.amountCaptured - state.amountRefunded - disputedOf(state);
      const amount = op.amount ?? refundable;
      if (!Number.isSafeInteger(amount) || amount <= 0)
        return badAmount('invalid_amount', 'Refund amount must be a positive integer');
      if (amount > refundable) {
        return badAmount(
          'amount_exceeds_captured',
          `Refund amount exceeds the refundable amount ${refundable}`,
        );
      }
      const refunded = state.amountRefunded + amount;
      return {
        ok: true,
        amount,
        next: {
          ...state,
          status: capturedStatus({ ...state, amountRefunded: refunded }),
          amountRefunded: refunded,
        },
      };
    }
  }
}

/**
 * A dispute's withdrawal or reinstatement. A repeated one (the dispute already has its record, or it
 * was already reinstated) is `ok` with the state unchanged (the same object): nothing to commit.
 */
function disputeFunds<T extends Amounts>(state: T, op: DisputeOperation): Transition<T> {
  const records = state.disputes ?? [];
  const mine = records.find((d) => d.disputeId === op.disputeId);
  const disputed = disputedOf(state);
  if (op.kind === 'dispute_withdraw') {
    if (mine) return { ok: true, amount: 0, next: state };
    if (!Number.isSafeInteger(op.amount) || op.amount < 0)
      return badAmount('invalid_amount', 'Disputed amount must be a non-negative integer');
    const available = Math.max(state.amountCaptured - state.amountRefunded - disputed, 0);
    const amount = Math.min(op.amount, available);
    return {
      ok: true,
      amount,
      next: {
        ...state,
        amountDisputed: disputed + amount,
        disputes: [...records, { disputeId: op.disputeId, withdrawn: amount, reinstated: false }],
      },
    };
  }
  if (!mine || mine.reinstated) return { ok: true, amount: 0, next: state };
  return {
    ok: true,
    amount: mine.withdrawn,
    next: {
      ...state,
      amountDisputed: disputed - mine.withdrawn,
      disputes: records.map((d) => (d.disputeId === op.disputeId ? { ...d, reinstated: true } : d)),
    },
  };
}
