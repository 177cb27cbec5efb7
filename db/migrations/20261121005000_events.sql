-- Up Migration

-- Outbox of merchant-facing events (payment.*, refund.*, bank_account.*). Activities append one row
-- per status change with a stable id, in the same activity that projects the change; merchant webhook
-- delivery reads from here (at-least-once, stable event id).
CREATE TABLE events (
  id          text PRIMARY KEY,
  client_id   text NOT NULL,
  type        text NOT NULL,
  resource_id text NOT NULL,
  data        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_client_idx ON events (client_id, created_at, id);
CREATE INDEX events_resource_idx ON events (resource_id, created_at);

-- Down Migration
DROP TABLE events;
