/**
 * Bank accounts (API.md "Bank accounts"): input rules, statuses and the verification limits shared by
 * the API, the workflow and the activities. Pure code: safe to import from workflows.
 */

export const BANK_ACCOUNT_STATUSES = [
  'pending',
  'awaiting_microdeposits',
  'verified',
  'verification_failed',
  'expired',
] as const;
export type BankAccountStatus = (typeof BANK_ACCOUNT_STATUSES)[number];
export const TERMINAL_BANK_STATUSES: ReadonlySet<BankAccountStatus> = new Set([
  'verified',
  'verification_failed',
  'expired',
]);

export type VerificationMethod = 'instant' | 'microdeposits';
export type AccountType = 'checking' | 'savings';

/** Why a verification failed; shown as `failureReason` on the account. */
export type BankFailureReason =
  'too_many_attempts' | 'microdeposit_returned' | 'microdeposit_failed' | 'instant_verification_rejected';

export const MAX_VERIFICATION_ATTEMPTS = 3;
export const VERIFICATION_WINDOW_MS = 10 * 24 * 60 * 60 * 1000;
/** Merchant reminders (bank_account.verification_reminder) this long after the deposits were sent. */
export const REMINDER_AFTER_MS: readonly number[] = [2 * 24 * 60 * 60 * 1000, 7 * 24 * 60 * 60 * 1000];

export interface BankAccountView {
  id: string;
  status: BankAccountStatus;
  verificationMethod: VerificationMethod;
  last4: string;
  accountType: AccountType;
  attemptsRemaining?: number;
  verificationExpiresAt?: string;
  failureReason?: BankFailureReason;
  createdAt: string;
  updatedAt: string;
}

/**
 * A bank account's routing and account numbers as stored: sealed by vault/bank-secrets.ts under a
 * per-account data key wrapped by the legal entity's KEK.
 */
export interface SealedAccount {
  kekId: string;
  wrappedKey: Buffer;
  accountCt: Buffer;
}

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/**
 * ABA routing number: 9 digits whose weighted sum (3, 7, 1 repeating) is a multiple of 10. The
 * message never echoes the value.
 */
export function validateRoutingNumber(v: string): FieldError | undefined {
  if (!/^\d{9}$/.test(v)) {
    return { field: 'routingNumber', code: 'invalid_routing_number', message: 'must be 9 digits' };
  }
  const w = [3, 7, 1];
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(v[i]) * (w[i % 3] ?? 0);
  if (sum % 10 !== 0) {
    return {
      field: 'routingNumber',
      code: 'invalid_routing_number',
      message: 'fails the ABA checksum',
    };
  }
  return undefined;
}

/** US account numbers are 4-17 digits (NACHA DFI account number field). */
export function validateAccountNumber(v: string): FieldError | undefined {
  if (!/^\d{4,17}$/.test(v)) {
    return { field: 'accountNumber', code: 'invalid_account_number', message: 'must be 4 to 17 digits' };
  }
  return undefined;
}

/**
 * Constant-time comparison of two strings for use INSIDE workflows (node:crypto is fenced out of
 * workflow code). Length is not secret here: both sides are fixed-length base64url MACs.
 */
export function constantTimeEqualString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** Deterministic merchant event id for a bank account transition: `evt_<ba suffix><tag>`. */
export function bankEventId(bankAccountId: string, tag: string): string {
  return `evt_${bankAccountId.replace(/^ba_/, '')}${tag.replace(/[^0-9A-Za-z]/g, '')}`;
}
