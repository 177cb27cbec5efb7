/**
 * The payment as the workflow holds it and as the API shows it (API.md "Payment object").
 * PaymentState lives in the workflow; PaymentView is the contract shape, derived in one place.
 */
import type { Amounts, CaptureMode, PaymentStatus } from './payment-state';
import type { EventRecord } from './merchant-event';
import type { JournalEntryDraft } from './ledger';
import type { ProviderName } from './providers';

export interface PaymentInput {
  paymentId: string;
  clientId: string;
  legalEntity: string;
  amount: number;
  currency: string;
  capture: CaptureMode;
  provider: string;
  /** The request's explicit provider (absent: the routing rule decides). */
  requestedProvider?: string | undefined;
  /**
   * The providers to try, in order (domain/providers.ts orderRoute), decided by the API from the
   * merchant's routing rule when the payment is created. Absent in payments created before the
   * API decided it: the workflow then asks the card-data worker (legacy path) or uses `provider`.
   */
  route?: ProviderName[] | undefined;
  token: string;
  brand: string;
  last4: string;
  merchantReference?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, string> | undefined;
  createdAt: string;
  /** Task queue of the card-data worker (workflows never read env: it arrives here). */
  cardTaskQueue: string;
  /** Default authorization window when the provider gives no capture_before (7 days). */
  authorizationWindowMs?: number | undefined;
}

export interface RefundRecord {
  id: string;
  paymentId: string;
  amount: number;
  status: 'pending' | 'succeeded' | 'failed';
  reason?: string | undefined;
  providerRefundId?: string | undefined;
  createdAt: string;
}

export interface PaymentState extends Amounts {
  status: PaymentStatus;
  providerReference: string | null;
  declineCode: string | null;
  authorizationExpiresAt: string | null;
  captures: Array<{ n: number; amount: number; providerCaptureId: string; at: string }>;
  refunds: RefundRecord[];
  /** The provider that holds the authorization once one answered (after failover, the winner). */
  provider?: string | undefined;
  updatedAt: string;
  /** Grows with every change; projections keep the highest. */
  version: number;
  /**
   * The ledger holds this payment's entries up to its current state (set by every commit that
   * posts). Absent in a state resumed from a run that did not post (started before the ledger): its
   * next commit posts an opening balance first (domain/ledger.ts).
   */
  ledgerPosted?: boolean | undefined;
}

export interface PaymentView {
  id: string;
  status: PaymentStatus;
  amount: number;
  currency: string;
  amountCapturable: number;
  amountCaptured: number;
  amountRefunded: number;
  /** Funds withdrawn by open or lost disputes (API.md "Disputes"). */
  amountDisputed: number;
  capture: CaptureMode;
  provider: string;
  providerReference: string | null;
  paymentMethod: { token: string; brand: string; last4: string };
  declineCode?: string;
  authorizationExpiresAt?: string;
  merchantReference?: string;
  description?: string;
  metadata?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export function initialState(input: PaymentInput): PaymentState {
  return {
    status: 'processing',
    amount: input.amount,
    amountCapturable: 0,
    amountCaptured: 0,
    amountRefunded: 0,
    providerReference: null,
    declineCode: null,
    authorizationExpiresAt: null,
    captures: [],
    refunds: [],
    updatedAt: input.createdAt,
    version: 1,
  };
}

export function toView(input: PaymentInput, s: PaymentState): PaymentView {
  const v: PaymentView = {
    id: input.paymentId,
    status: s.status,
    amount: input.amount,
    currency: input.currency,
    amountCapturable: s.amountCapturable,
    amountCaptured: s.amountCaptured,
    amountRefunded: s.amountRefunded,
    amountDisputed: s.amountDisputed ?? 0,
    capture: input.capture,
    provider: s.provider ?? input.provider,
    providerReference: s.providerReference,
    paymentMethod: { token: input.token, brand: input.brand, last4: input.last4 },
    createdAt: input.createdAt,
    updatedAt: s.updatedAt,
  };
  if (s.declineCode) v.declineCode = s.declineCode;
  if (s.authorizationExpiresAt && (s.status === 'authorized' || s.status === 'partially_captured')) {
    v.authorizationExpiresAt = s.authorizationExpiresAt;
  }
  if (input.merchantReference !== undefined) v.merchantReference = input.merchantReference;
  if (input.description !== undefined) v.description = input.description;
  if (input.metadata !== undefined) v.metadata = input.metadata;
  return v;
}

/**
 * What one step of a payment writes, in one transaction: its projection, its refund, its events and
 * the journal entries of the money it moved (domain/ledger.ts stepEntries).
 */
export interface PaymentStep {
  clientId: string;
  view: PaymentView;
  version: number;
  refund?: RefundRecord | undefined;
  events: EventRecord[];
  /** Absent or empty: the step moves no money (a re-projection, a decline, the legacy path). */
  ledger?: JournalEntryDraft[] | undefined;
}
