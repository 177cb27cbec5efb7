-- Up Migration

-- Provider webhooks in: each provider event is stored ONCE by (provider, event id); a redelivery
-- finds the row and, if its signal was already delivered to the workflow, does nothing more.
CREATE TABLE provider_events (
  provider      text NOT NULL,
  event_id      text NOT NULL,
  kind          text NOT NULL,
  payment_id    text,
  provider_reference text,
  occurred_at   timestamptz NOT NULL,
  raw           jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  -- Set once the event reached its owner (payment workflow signal / bank service); NULL = retry it.
  delivered_at  timestamptz,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_payment_idx ON provider_events (payment_id);

-- Merchant-level routing rule: an ordered provider list per client (first = preferred); the request's
-- explicit `provider` goes first. Clients without a row use one provider (explicit, else the default).
CREATE TABLE provider_routes (
  client_id   text PRIMARY KEY,
  providers   text[] NOT NULL CHECK (cardinality(providers) > 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Merchant webhooks out.
CREATE TABLE webhook_endpoints (
  id            text PRIMARY KEY,
  client_id     text NOT NULL,
  url           text NOT NULL,
  events        text[] NOT NULL,
  -- The signing secret, sealed (AES-256-GCM, security/envelope.ts) with SETTLE_WEBHOOK_KEY; AAD = id.
  secret_sealed bytea NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_client_idx ON webhook_endpoints (client_id, created_at, id);

-- One delivery per (event, endpoint): the unique key is what makes "never twice to the same endpoint"
-- hold whatever the dispatcher does on a retry.
CREATE TABLE webhook_deliveries (
  id              text PRIMARY KEY,
  event_id        text NOT NULL REFERENCES events (id),
  endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id),
  client_id       text NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts        int NOT NULL DEFAULT 0,
  last_status_code int,
  last_error      text,
  next_attempt_at timestamptz,
  delivered_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_delivery_attempts (
  delivery_id  text NOT NULL REFERENCES webhook_deliveries (id),
  attempt      int NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  status_code  int,
  error        text,
  duration_ms  int NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

-- The outbox cursor: an event is dispatched (its deliveries created and started) exactly once.
ALTER TABLE events ADD COLUMN dispatched_at timestamptz;
CREATE INDEX events_undispatched_idx ON events (created_at, id) WHERE dispatched_at IS NULL;

-- Down Migration
DROP INDEX events_undispatched_idx;
ALTER TABLE events DROP COLUMN dispatched_at;
DROP TABLE webhook_delivery_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE provider_routes;
DROP TABLE provider_events;
