-- Up Migration

-- Bank accounts: the account data is sealed (AES-256-GCM under a per-record data key wrapped by the
-- KEK); only last4 is in clear. `fingerprint` is an HMAC of routing + account number, so "the same
-- account for the same client" can be found without decrypting anything. At most one live (not
-- expired) record per client and account: a re-submission joins it instead of resetting attempts.
CREATE TABLE bank_accounts (
  id                       text PRIMARY KEY,
  client_id                text NOT NULL,
  legal_entity             text NOT NULL,
  fingerprint              text NOT NULL,
  last4                    char(4) NOT NULL,
  account_type             text NOT NULL CHECK (account_type IN ('checking', 'savings')),
  kek_id                   text NOT NULL,
  wrapped_key              bytea NOT NULL,
  account_ct               bytea NOT NULL,
  provider                 text NOT NULL,
  status                   text NOT NULL CHECK (status IN
                             ('pending', 'awaiting_microdeposits', 'verified', 'verification_failed', 'expired')),
  verification_method      text NOT NULL CHECK (verification_method IN ('instant', 'microdeposits')),
  attempts_remaining       int,
  verification_expires_at  timestamptz,
  failure_reason           text,
  provider_reference       text,
  version                  int NOT NULL DEFAULT 0,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bank_accounts_live_fingerprint_uq ON bank_accounts (client_id, fingerprint)
  WHERE status <> 'expired';
CREATE INDEX bank_accounts_provider_ref_idx ON bank_accounts (provider, provider_reference);

-- Inbound provider events about micro-deposits, stored once by (provider, event id). `applied_at` is
-- set once the workflow got the signal, so a redelivery after a crash re-signals (signals are
-- deduplicated by event id inside the workflow too).
CREATE TABLE bank_provider_events (
  provider         text NOT NULL,
  event_id         text NOT NULL,
  bank_account_id  text,
  kind             text NOT NULL,
  occurred_at      timestamptz NOT NULL,
  raw              jsonb NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now(),
  applied_at       timestamptz,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX bank_provider_events_account_idx ON bank_provider_events (bank_account_id, occurred_at);

-- The sandbox bank's books (activities/providers/sandbox/bank.ts). This table plays the account
-- holder's bank statement: the deposit amounts are what the customer reads there. Sandbox only.
CREATE TABLE sandbox_bank_deposits (
  idempotency_key  text PRIMARY KEY,
  reference        text NOT NULL UNIQUE,
  bank_account_id  text NOT NULL,
  amount_1         int NOT NULL,
  amount_2         int NOT NULL,
  status           text NOT NULL CHECK (status IN ('sent', 'returned')),
  clawed_back_at   timestamptz,
  clawback_count   int NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_bank_deposits_account_idx ON sandbox_bank_deposits (bank_account_id);

-- Down Migration
DROP TABLE sandbox_bank_deposits;
DROP TABLE bank_provider_events;
DROP TABLE bank_accounts;
