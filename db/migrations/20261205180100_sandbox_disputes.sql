-- Up Migration
-- The sandbox provider's disputes (docs/sandbox-provider.md "Disputes"): opened by the capture trigger,
-- answered with evidence or accepted through the provider interface, decided like Stripe test mode.
CREATE TABLE sandbox_disputes (
  id                     text PRIMARY KEY,
  reference              text NOT NULL REFERENCES sandbox_transactions (reference),
  payment_id             text NOT NULL,
  amount                 bigint NOT NULL CHECK (amount > 0),
  currency               char(3) NOT NULL,
  reason                 text NOT NULL,
  status                 text NOT NULL
                         CHECK (status IN ('needs_response', 'under_review', 'won', 'lost', 'accepted')),
  -- Set with the evidence: the decision, which takes effect (and is announced) at decides_at.
  outcome                text CHECK (outcome IN ('won', 'lost')),
  decides_at             timestamptz,
  evidence_due_by        timestamptz NOT NULL,
  evidence_text          text,
  evidence_files         int NOT NULL DEFAULT 0,
  evidence_submitted_at  timestamptz,
  -- How often evidence / acceptance was asked for, and how often it took effect (tests prove once).
  evidence_requests      int NOT NULL DEFAULT 0,
  evidence_submissions   int NOT NULL DEFAULT 0,
  accept_requests        int NOT NULL DEFAULT 0,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
-- The trigger opens one dispute per sandbox transaction.
CREATE UNIQUE INDEX sandbox_disputes_reference_uq ON sandbox_disputes (reference);

-- The sandbox's outgoing webhooks, written in the same transaction as the change they announce and
-- delivered to the API (POST /webhooks/sandbox) by the card worker's sender, with retries.
CREATE TABLE sandbox_webhook_outbox (
  id               text PRIMARY KEY,
  type             text NOT NULL,
  body             jsonb NOT NULL,
  attempts         int NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_webhook_outbox_due_idx ON sandbox_webhook_outbox (next_attempt_at)
  WHERE delivered_at IS NULL;

-- The runtime role books and delivers; nothing deletes (db/roles.ts).
REVOKE ALL ON sandbox_disputes, sandbox_webhook_outbox FROM settle_app;
REVOKE ALL ON sandbox_disputes, sandbox_webhook_outbox FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON sandbox_disputes, sandbox_webhook_outbox TO settle_app;

-- Down Migration
DROP TABLE sandbox_webhook_outbox;
DROP TABLE sandbox_disputes;
