-- Up Migration
-- The stuck-payment sweeper (workflows/payment-sweeper.ts): what it found that it could not repair,
-- one row per payment (open until a later run finds the payment consistent or repaired), and where
-- its scan of live payments stopped, so successive bounded runs cover every payment in turn.
CREATE TABLE payment_sweep_findings (
  payment_id    text PRIMARY KEY,
  client_id     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'repaired', 'resolved')),
  problems      text[] NOT NULL,
  detail        jsonb NOT NULL,
  opened_run_id text NOT NULL,
  last_run_id   text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_sweep_findings_status_idx ON payment_sweep_findings (status, last_seen_at DESC);

CREATE TABLE payment_sweeper_runs (
  scope            text PRIMARY KEY,
  run_id           text NOT NULL,
  finished_at      timestamptz NOT NULL DEFAULT now(),
  after_created_at timestamptz,
  after_id         text,
  summary          jsonb NOT NULL
);

-- Down Migration
DROP TABLE payment_sweeper_runs;
DROP TABLE payment_sweep_findings;
