-- Up Migration

-- Reconciliation of the ledger with each provider's records (domain/reconciliation.ts says which
-- records a run compares; workflows/reconciliation.ts runs it). One row per run (`rc_...`), its
-- discrepancies (unique per run by kind + payment + reference, so a retried page stores each once;
-- `announced_at` set once its merchant event and audit entry are written), and the run's working
-- set: the ledger payments a provider page matched, so the ledger-side remainder
-- (missing_at_provider) is one anti-join instead of a window held in memory. The working set is
-- deleted when the run ends.
CREATE TABLE reconciliation_runs (
  id                  text PRIMARY KEY CHECK (id ~ '^rc_[0-9A-Za-z]{8,64}$'),
  provider            text NOT NULL,
  window_from         timestamptz NOT NULL,
  window_to           timestamptz NOT NULL,
  status              text NOT NULL CHECK (status IN ('running', 'matched', 'discrepancies', 'failed')),
  checked             bigint NOT NULL DEFAULT 0,
  discrepancy_count   bigint NOT NULL DEFAULT 0,
  requested_by        text NOT NULL,
  error               text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz,
  CHECK (window_from < window_to)
);
CREATE INDEX reconciliation_runs_list_idx ON reconciliation_runs (created_at DESC, id DESC);

CREATE TABLE reconciliation_discrepancies (
  run_id              text NOT NULL REFERENCES reconciliation_runs (id),
  key                 text NOT NULL,
  kind                text NOT NULL CHECK (kind IN ('missing_at_provider', 'missing_in_ledger',
                                                    'amount_mismatch', 'status_mismatch')),
  payment_id          text,
  client_id           text,
  provider_reference  text,
  expected            jsonb,
  actual              jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  announced_at        timestamptz,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE reconciliation_seen (
  run_id      text NOT NULL,
  payment_id  text NOT NULL,
  PRIMARY KEY (run_id, payment_id)
);

-- A provider page looks its references up; the ledger side lists a provider's payments by time.
CREATE INDEX payments_provider_reference_idx ON payments (provider, provider_reference);
CREATE INDEX payments_provider_created_idx ON payments (provider, created_at, id);
-- The sandbox's settlement report lists its books by creation time.
CREATE INDEX sandbox_transactions_created_idx ON sandbox_transactions (created_at, reference);

-- The application role: runs and discrepancies are written and read (never deleted: they are the
-- evidence of the comparison); the working set is written, read and dropped (db/roles.ts).
REVOKE ALL ON reconciliation_runs, reconciliation_discrepancies, reconciliation_seen FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON reconciliation_runs, reconciliation_discrepancies TO settle_app;
GRANT SELECT, INSERT, DELETE ON reconciliation_seen TO settle_app;

-- Down Migration
DROP INDEX sandbox_transactions_created_idx;
DROP INDEX payments_provider_created_idx;
DROP INDEX payments_provider_reference_idx;
DROP TABLE reconciliation_seen;
DROP TABLE reconciliation_discrepancies;
DROP TABLE reconciliation_runs;
