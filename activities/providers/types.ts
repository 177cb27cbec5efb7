/**
 * The one PaymentProvider interface every provider implements (hyperswitch style: a method per flow)
 * and the normalized types that cross it. Adapters never let SDK types or errors leak past this file's
 * shapes: errors are ProviderError with a FailureType the workflow can branch on.
 *
 * Card data (CardData) exists only inside the card-data worker: these types are never workflow
 * arguments or results. Results carry no card data.
 */
import type { CaptureMode } from '../../domain/payment-state';
import type { CardData } from '../../domain/card';
import { FAILURE_TYPES, type FailureType } from '../../domain/errors';
import type { DisputeStatus, ProviderEvent, ProviderName } from '../../domain/providers';

export const DECLINE_CODES = [
  'card_declined',
  'insufficient_funds',
  'expired_card',
  'incorrect_cvc',
  'do_not_honor',
  'lost_or_stolen',
  'fraudulent',
  'processing_error',
] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

/** Card-free client messages per decline code, for every provider: never the provider's own text
 * (it may echo input). */
const DECLINE_MESSAGES: Readonly<Record<DeclineCode, string>> = {
  card_declined: 'The card was declined.',
  insufficient_funds: 'The card has insufficient funds.',
  expired_card: 'The card has expired.',
  incorrect_cvc: 'The card security code is incorrect.',
  do_not_honor: 'The card issuer declined the payment.',
  lost_or_stolen: 'The card was declined.',
  fraudulent: 'The card was declined.',
  processing_error: 'The card could not be processed.',
};

export function declineMessage(code: DeclineCode): string {
  return DECLINE_MESSAGES[code];
}

export interface AuthorizeRequest {
  paymentId: string;
  /** Deterministic: `${paymentId}:authorize` (payment id + step). */
  idempotencyKey: string;
  amount: number;
  currency: string;
  capture: CaptureMode;
  card: CardData;
  description?: string | undefined;
  merchantReference?: string | undefined;
}

export type AuthorizeResult =
  | {
      outcome: 'authorized';
      providerReference: string;
      /** true when the provider captured in the same call (automatic capture). */
      captured: boolean;
      /** Provider's capture deadline (RFC 3339), if it tells us one. */
      captureBefore?: string | undefined;
    }
  | {
      outcome: 'declined';
      providerReference?: string | undefined;
      declineCode: DeclineCode;
      /** Safe, card-free message for the client. */
      message: string;
    };

export interface CaptureRequest {
  paymentId: string;
  providerReference: string;
  /** Deterministic: `${paymentId}:capture:${n}`. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  /** true when no further capture will follow (the provider may release the remainder). */
  final: boolean;
}
export interface CaptureResult {
  providerCaptureId: string;
  amount: number;
}

export interface VoidRequest {
  paymentId: string;
  providerReference: string;
  idempotencyKey: string;
}

export interface RefundRequest {
  paymentId: string;
  refundId: string;
  providerReference: string;
  /** Deterministic: `${paymentId}:refund:${refundId}`. */
  idempotencyKey: string;
  amount: number;
  currency: string;
  reason?: string | undefined;
}
export interface RefundResult {
  providerRefundId: string;
  status: 'succeeded' | 'pending' | 'failed';
}

/** What the provider says happened for one payment: used to resolve an unknown outcome. */
export interface ProviderPaymentSnapshot {
  found: boolean;
  providerReference?: string | undefined;
  status?: 'authorized' | 'captured' | 'voided' | 'declined' | 'processing' | undefined;
  amountAuthorized?: number | undefined;
  amountCaptured?: number | undefined;
  amountRefunded?: number | undefined;
  captureBefore?: string | undefined;
  declineCode?: DeclineCode | undefined;
  /** Captures and refunds the provider knows, by our idempotency key where it echoes one. */
  captures?:
    Array<{ providerCaptureId: string; amount: number; idempotencyKey?: string | undefined }> | undefined;
  refunds?:
    Array<{ providerRefundId: string; amount: number; idempotencyKey?: string | undefined }> | undefined;
}

export interface SyncRequest {
  paymentId: string;
  providerReference?: string | undefined;
}

/** One evidence file, already decrypted by the card-data worker (never a workflow argument). */
export interface DisputeEvidenceFile {
  name: string;
  contentType: string;
  content: Buffer;
}

/**
 * Where the card-data worker reads a dispute's evidence files: stored encrypted by the API, decrypted
 * only here, just before they go to the provider (vault/dispute-evidence.ts implements it).
 */
export interface DisputeEvidenceStore {
  read(disputeId: string, fileIds: readonly string[]): Promise<DisputeEvidenceFile[]>;
}

export interface DisputeEvidenceRequest {
  /** Our dispute id (`dp_...`): the idempotency key is `<dp_id>:evidence`. */
  disputeId: string;
  providerDisputeId: string;
  paymentId: string;
  providerReference: string;
  text: string;
  files: DisputeEvidenceFile[];
}

export interface AcceptDisputeRequest {
  /** Our dispute id: the idempotency key is `<dp_id>:accept`. */
  disputeId: string;
  providerDisputeId: string;
  paymentId: string;
  providerReference: string;
}

/** The dispute's status at the provider after the call (a repeated call answers the same). */
export interface DisputeProviderResult {
  status: DisputeStatus;
}

export interface PaymentProvider {
  readonly name: ProviderName;
  authorize(req: AuthorizeRequest): Promise<AuthorizeResult>;
  capture(req: CaptureRequest): Promise<CaptureResult>;
  void(req: VoidRequest): Promise<void>;
  refund(req: RefundRequest): Promise<RefundResult>;
  /** Ask the provider what happened to a payment (by reference, else by our payment id). */
  sync(req: SyncRequest): Promise<ProviderPaymentSnapshot>;
  /** Send a dispute's evidence and submit it for review (Stripe disputes.update submit=true). */
  submitDisputeEvidence(req: DisputeEvidenceRequest): Promise<DisputeProviderResult>;
  /** Concede a dispute (Stripe disputes.close, Braintree dispute accept). */
  acceptDispute(req: AcceptDisputeRequest): Promise<DisputeProviderResult>;
  /** Verify and normalize an inbound webhook; throws ProviderError(ProviderInvalidRequest) when bad. */
  parseWebhook(rawBody: Buffer, headers: Record<string, string | undefined>): Promise<ProviderEvent>;
}

/**
 * The one error adapters throw. `failureType` decides retrying (see domain/errors.ts FAILURE_TYPES);
 * `message` must be card-free because it reaches Temporal history.
 */
export class ProviderError extends Error {
  readonly failureType: FailureType;
  readonly provider: ProviderName;
  readonly httpStatus: number | undefined;

  constructor(provider: ProviderName, failureType: FailureType, message: string, httpStatus?: number) {
    super(message);
    this.name = 'ProviderError';
    this.provider = provider;
    this.failureType = failureType;
    this.httpStatus = httpStatus;
  }

  static unavailable(provider: ProviderName, message: string, httpStatus?: number): ProviderError {
    return new ProviderError(provider, FAILURE_TYPES.ProviderUnavailable, message, httpStatus);
  }
  static unknownOutcome(provider: ProviderName, message: string): ProviderError {
    return new ProviderError(provider, FAILURE_TYPES.ProviderOutcomeUnknown, message);
  }
  static invalid(provider: ProviderName, message: string, httpStatus?: number): ProviderError {
    return new ProviderError(provider, FAILURE_TYPES.ProviderInvalidRequest, message, httpStatus);
  }
}

/** The deterministic idempotency keys of dispute calls (one evidence submission, one acceptance). */
export const disputeIdempotencyKeys = {
  evidence: (disputeId: string) => `${disputeId}:evidence`,
  accept: (disputeId: string) => `${disputeId}:accept`,
};
