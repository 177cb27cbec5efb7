/**
 * The bank-account verification provider interface (one method per flow) and its normalized types.
 * BankAccountData (routing + account number) exists only inside the card-data worker, like CardData:
 * never a workflow argument or result. Results carry references and outcomes, never account data or
 * micro-deposit amounts.
 */
import type { AccountType } from '../../domain/bank-account';
import type { ProviderName } from '../../domain/providers';

export interface BankAccountData {
  routingNumber: string;
  accountNumber: string;
  holderName: string;
  accountType: AccountType;
}

export interface InstantVerifyRequest {
  bankAccountId: string;
  /** Deterministic: `${bankAccountId}:instant`. */
  idempotencyKey: string;
  account: BankAccountData;
}
/**
 * verified: the provider confirmed ownership (e.g. through the bank's login / data network).
 * unavailable: the bank does not support instant verification. inconclusive: it answered, unsure.
 * Both of the latter fall back to micro-deposits; an outage or timeout surfaces as a ProviderError.
 */
export type InstantVerifyOutcome = 'verified' | 'unavailable' | 'inconclusive';
export interface InstantVerifyResult {
  outcome: InstantVerifyOutcome;
}

export interface SendMicrodepositsRequest {
  bankAccountId: string;
  /** Deterministic: `${bankAccountId}:microdeposits:${nonce}`. */
  idempotencyKey: string;
  account: BankAccountData;
  amounts: [number, number];
}
export interface SendMicrodepositsResult {
  providerReference: string;
}

export interface DebitMicrodepositsRequest {
  bankAccountId: string;
  /** Deterministic: `${bankAccountId}:clawback`. */
  idempotencyKey: string;
  providerReference: string;
  account: BankAccountData;
}

export interface BankSyncRequest {
  bankAccountId: string;
  /** Our idempotency key of the micro-deposit send, to resolve an unknown outcome. */
  depositIdempotencyKey?: string | undefined;
}
export interface BankSyncResult {
  deposits?: { providerReference: string; status: 'sent' | 'returned'; clawedBack: boolean } | undefined;
}

export interface BankVerificationProvider {
  readonly name: ProviderName;
  instantVerify(req: InstantVerifyRequest): Promise<InstantVerifyResult>;
  sendMicrodeposits(req: SendMicrodepositsRequest): Promise<SendMicrodepositsResult>;
  /** Claw back the deposits once verification ends; idempotent by key. */
  debitMicrodeposits(req: DebitMicrodepositsRequest): Promise<void>;
  /** What the provider knows about our micro-deposits (sync before resending after a lost answer). */
  sync(req: BankSyncRequest): Promise<BankSyncResult>;
}
