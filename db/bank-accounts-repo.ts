/**
 * Bank accounts: the sealed record (written once by the API) and the status projection (written by
 * the workflow's activities with a version, so an older projection never wins), plus the store of
 * inbound provider events about micro-deposits (once per provider event id).
 */
import type {
  AccountType,
  BankAccountStatus,
  BankAccountView,
  BankFailureReason,
  SealedAccount,
  VerificationMethod,
} from '../domain/bank-account';
import type { Pool } from './pool';

interface Row {
  id: string;
  client_id: string;
  legal_entity: string;
  last4: string;
  account_type: AccountType;
  kek_id: string;
  wrapped_key: Buffer;
  account_ct: Buffer;
  provider: string;
  status: BankAccountStatus;
  verification_method: VerificationMethod;
  attempts_remaining: number | null;
  verification_expires_at: Date | null;
  failure_reason: BankFailureReason | null;
  created_at: Date;
  updated_at: Date;
}

function toView(r: Row): BankAccountView {
  const v: BankAccountView = {
    id: r.id,
    status: r.status,
    verificationMethod: r.verification_method,
    last4: r.last4.trim(),
    accountType: r.account_type,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
  if (r.attempts_remaining !== null) v.attemptsRemaining = r.attempts_remaining;
  if (r.verification_expires_at) v.verificationExpiresAt = r.verification_expires_at.toISOString();
  if (r.failure_reason) v.failureReason = r.failure_reason;
  return v;
}

export interface NewBankAccount {
  id: string;
  clientId: string;
  legalEntity: string;
  fingerprint: string;
  last4: string;
  accountType: AccountType;
  provider: string;
  sealed: SealedAccount;
  createdAt: string;
}

export interface StoredProviderEvent {
  provider: string;
  eventId: string;
  bankAccountId: string | undefined;
  kind: string;
  occurredAt: string;
  raw: Record<string, unknown>;
}

export function createBankAccountsRepo(pool: Pool) {
  return {
    /**
     * Insert a new pending account, unless the client already has a live record for the same
     * fingerprint (or this id exists: a replayed request). Returns the record to verify / join.
     */
    async insertOrJoin(a: NewBankAccount): Promise<{ id: string; joined: boolean; view: BankAccountView }> {
      await pool.query(
        `INSERT INTO bank_accounts (id, client_id, legal_entity, fingerprint, last4, account_type, kek_id, wrapped_key,
           account_ct, provider, status, verification_method, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'pending','instant',$11,$11)
         ON CONFLICT DO NOTHING`,
        [
          a.id,
          a.clientId,
          a.legalEntity,
          a.fingerprint,
          a.last4,
          a.accountType,
          a.sealed.kekId,
          a.sealed.wrappedKey,
          a.sealed.accountCt,
          a.provider,
          a.createdAt,
        ],
      );
      const r = await pool.query<Row>(
        `SELECT * FROM bank_accounts WHERE id = $1 AND client_id = $2
         UNION ALL
         SELECT * FROM bank_accounts WHERE client_id = $2 AND fingerprint = $3 AND status <> 'expired' AND id <> $1
         LIMIT 1`,
        [a.id, a.clientId, a.fingerprint],
      );
      const row = r.rows[0];
      if (!row) throw new Error('bank account neither inserted nor found');
      return { id: row.id, joined: row.id !== a.id, view: toView(row) };
    },

    async project(a: {
      view: BankAccountView;
      version: number;
      providerReference?: string | undefined;
    }): Promise<void> {
      const v = a.view;
      await pool.query(
        `UPDATE bank_accounts SET status = $2, verification_method = $3, attempts_remaining = $4,
           verification_expires_at = $5, failure_reason = $6,
           provider_reference = COALESCE($7, provider_reference), version = $8, updated_at = $9
         WHERE id = $1 AND version < $8`,
        [
          v.id,
          v.status,
          v.verificationMethod,
          v.attemptsRemaining ?? null,
          v.verificationExpiresAt ?? null,
          v.failureReason ?? null,
          a.providerReference ?? null,
          a.version,
          v.updatedAt,
        ],
      );
    },

    /** The account view; `clientId` scopes it to the owner (undefined = operator read). */
    async get(id: string, clientId: string | undefined): Promise<BankAccountView | undefined> {
      const r = await pool.query<Row>(
        'SELECT * FROM bank_accounts WHERE id = $1 AND ($2::text IS NULL OR client_id = $2)',
        [id, clientId ?? null],
      );
      return r.rows[0] ? toView(r.rows[0]) : undefined;
    },

    async ownerOf(id: string): Promise<string | undefined> {
      const r = await pool.query<{ client_id: string }>('SELECT client_id FROM bank_accounts WHERE id = $1', [
        id,
      ]);
      return r.rows[0]?.client_id;
    },

    /** Card-data worker only: the sealed account for the provider call. */
    async getSealed(
      id: string,
    ): Promise<{ legalEntity: string; accountType: AccountType; sealed: SealedAccount } | undefined> {
      const r = await pool.query<Row>('SELECT * FROM bank_accounts WHERE id = $1', [id]);
      const row = r.rows[0];
      if (!row) return undefined;
      return {
        legalEntity: row.legal_entity,
        accountType: row.account_type,
        sealed: { kekId: row.kek_id, wrappedKey: row.wrapped_key, accountCt: row.account_ct },
      };
    },

    async findByProviderReference(provider: string, reference: string): Promise<string | undefined> {
      const r = await pool.query<{ id: string }>(
        'SELECT id FROM bank_accounts WHERE provider = $1 AND provider_reference = $2',
        [provider, reference],
      );
      return r.rows[0]?.id;
    },

    /** Store an event once; returns whether it still needs applying (new, or stored but not applied). */
    async storeProviderEvent(
      e: StoredProviderEvent,
    ): Promise<{ pending: boolean; bankAccountId: string | null }> {
      await pool.query(
        `INSERT INTO bank_provider_events (provider, event_id, bank_account_id, kind, occurred_at, raw)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, event_id) DO NOTHING`,
        [e.provider, e.eventId, e.bankAccountId ?? null, e.kind, e.occurredAt, JSON.stringify(e.raw)],
      );
      const r = await pool.query<{ applied_at: Date | null; bank_account_id: string | null }>(
        'SELECT applied_at, bank_account_id FROM bank_provider_events WHERE provider = $1 AND event_id = $2',
        [e.provider, e.eventId],
      );
      const row = r.rows[0];
      return { pending: !!row && row.applied_at === null, bankAccountId: row?.bank_account_id ?? null };
    },

    async markEventApplied(provider: string, eventId: string): Promise<void> {
      await pool.query(
        'UPDATE bank_provider_events SET applied_at = now() WHERE provider = $1 AND event_id = $2 AND applied_at IS NULL',
        [provider, eventId],
      );
    },
  };
}
export type BankAccountsRepo = ReturnType<typeof createBankAccountsRepo>;
