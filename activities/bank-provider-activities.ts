/**
 * Bank verification provider calls, registered ONLY by the card-data worker. The account number is
 * decrypted here, just for the provider call, and never returned; the micro-deposit amounts are
 * derived here from a secret key (vault/bank-secrets.ts) and only their keyed MAC is returned, so
 * neither reaches Temporal history. Every call carries a deterministic idempotency key, and a retry
 * of the send first asks the provider what happened.
 */
import { Context } from '@temporalio/activity';
import type { BankAccountsRepo } from '../db/bank-accounts-repo';
import { FAILURE_TYPES } from '../domain/errors';
import type { BankSecrets } from '../vault/bank-secrets';
import type { BankAccountData, BankVerificationProvider, InstantVerifyResult } from './providers/bank-types';
import { atBoundary, failure } from './errors';

export interface BankProviderActivityDeps {
  bankAccounts: BankAccountsRepo;
  secrets: BankSecrets;
  providers: ReadonlyMap<string, BankVerificationProvider>;
}

export const bankIdempotencyKeys = {
  instant: (id: string) => `${id}:instant`,
  microdeposits: (id: string, nonce: string) => `${id}:microdeposits:${nonce}`,
  clawback: (id: string) => `${id}:clawback`,
};

export interface SendMicrodepositsArgs {
  bankAccountId: string;
  provider: string;
  /** Drawn by the workflow (deterministic uuid4): fresh amounts per verification. Not secret. */
  nonce: string;
}

export function createBankProviderActivities(deps: BankProviderActivityDeps) {
  function provider(name: string): BankVerificationProvider {
    const p = deps.providers.get(name);
    if (!p) throw failure(FAILURE_TYPES.ProviderInvalidRequest, `bank provider ${name} is not enabled`);
    return p;
  }

  async function account(id: string): Promise<BankAccountData> {
    const rec = await deps.bankAccounts.getSealed(id);
    if (!rec) throw failure(FAILURE_TYPES.ValidationFailed, 'no such bank account');
    const s = await deps.secrets.open(id, rec.legalEntity, rec.sealed);
    return { ...s, accountType: rec.accountType };
  }

  return {
    async instantVerifyBankAccount(a: {
      bankAccountId: string;
      provider: string;
    }): Promise<InstantVerifyResult> {
      return atBoundary(async () =>
        provider(a.provider).instantVerify({
          bankAccountId: a.bankAccountId,
          idempotencyKey: bankIdempotencyKeys.instant(a.bankAccountId),
          account: await account(a.bankAccountId),
        }),
      );
    },

    async sendBankMicrodeposits(
      a: SendMicrodepositsArgs,
    ): Promise<{ providerReference: string; amountsMac: string }> {
      return atBoundary(async () => {
        const p = provider(a.provider);
        const key = bankIdempotencyKeys.microdeposits(a.bankAccountId, a.nonce);
        const amounts = deps.secrets.microdepositAmounts(a.bankAccountId, a.nonce);
        const amountsMac = deps.secrets.amountsMac(a.bankAccountId, amounts);
        if (Context.current().info.attempt > 1) {
          const snap = await p.sync({ bankAccountId: a.bankAccountId, depositIdempotencyKey: key });
          if (snap.deposits) return { providerReference: snap.deposits.providerReference, amountsMac };
        }
        const res = await p.sendMicrodeposits({
          bankAccountId: a.bankAccountId,
          idempotencyKey: key,
          account: await account(a.bankAccountId),
          amounts,
        });
        return { providerReference: res.providerReference, amountsMac };
      });
    },

    async clawBackBankMicrodeposits(a: {
      bankAccountId: string;
      provider: string;
      providerReference: string;
    }): Promise<void> {
      await atBoundary(async () =>
        provider(a.provider).debitMicrodeposits({
          bankAccountId: a.bankAccountId,
          idempotencyKey: bankIdempotencyKeys.clawback(a.bankAccountId),
          providerReference: a.providerReference,
          account: await account(a.bankAccountId),
        }),
      );
    },
  };
}
export type BankProviderActivities = ReturnType<typeof createBankProviderActivities>;
