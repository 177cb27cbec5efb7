-- Up Migration

-- Disputes (API.md "Disputes", docs/disputes.md). The payment projection gains the funds its
-- disputes withdrew; each dispute is projected by its workflow (workflows/dispute.ts), versioned like
-- payments; evidence files are stored ENCRYPTED (vault/dispute-evidence.ts: a data key per file from
-- the key provider, AES-256-GCM bound to the file and its dispute), never in Temporal history.
ALTER TABLE payments ADD COLUMN amount_disputed bigint NOT NULL DEFAULT 0 CHECK (amount_disputed >= 0);

CREATE TABLE disputes (
  id                    text PRIMARY KEY CHECK (id ~ '^dp_[0-9A-Za-z]{8,64}$'),
  client_id             text NOT NULL REFERENCES clients (id),
  payment_id            text NOT NULL REFERENCES payments (id),
  provider              text NOT NULL,
  provider_dispute_id   text NOT NULL,
  amount                bigint NOT NULL CHECK (amount >= 0),
  currency              char(3) NOT NULL,
  reason                text NOT NULL,
  status                text NOT NULL CHECK (status IN ('needs_response', 'under_review', 'won', 'lost', 'accepted')),
  evidence_due_by       timestamptz NOT NULL,
  evidence_submitted_at timestamptz,
  -- The payment's workflow had closed when the dispute asked it to move funds (see docs/disputes.md).
  payment_closed        boolean NOT NULL DEFAULT false,
  version               integer NOT NULL,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  UNIQUE (provider, provider_dispute_id)
);
CREATE INDEX disputes_client_list_idx ON disputes (client_id, created_at DESC, id DESC);
CREATE INDEX disputes_list_idx ON disputes (created_at DESC, id DESC);
CREATE INDEX disputes_payment_idx ON disputes (payment_id);

CREATE TABLE dispute_evidence_files (
  id            text PRIMARY KEY CHECK (id ~ '^dpf_[0-9A-Za-z]{8,64}$'),
  dispute_id    text NOT NULL REFERENCES disputes (id),
  client_id     text NOT NULL REFERENCES clients (id),
  name          text NOT NULL,
  content_type  text NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
  size          integer NOT NULL CHECK (size > 0 AND size <= 4194304),
  legal_entity  text NOT NULL,
  kek_id        text NOT NULL,
  wrapped_key   bytea NOT NULL,
  content_ct    bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispute_evidence_files_dispute_idx ON dispute_evidence_files (dispute_id);

-- The runtime role: disputes are projected (insert, versioned update); evidence files are written
-- once, read by the card-data worker, and deleted only when the workflow refused the evidence.
REVOKE ALL ON disputes, dispute_evidence_files FROM settle_app;
REVOKE ALL ON disputes, dispute_evidence_files FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON disputes TO settle_app;
GRANT SELECT, INSERT, DELETE ON dispute_evidence_files TO settle_app;

-- Down Migration
DROP TABLE dispute_evidence_files;
DROP TABLE disputes;
ALTER TABLE payments DROP COLUMN amount_disputed;
