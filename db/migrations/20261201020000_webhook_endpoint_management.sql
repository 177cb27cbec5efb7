-- Up Migration

-- Endpoint management: enabled / disabled (by the merchant or after failing for days) / deleted (a
-- tombstone: the delivery log still points at it). The breaker state lives on the endpoint row: the
-- delivery activities update it under the row lock, so every worker sees one state per endpoint.
ALTER TABLE webhook_endpoints
  ADD COLUMN status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'deleted')),
  ADD COLUMN disabled_reason text CHECK (disabled_reason IN ('merchant', 'failing')),
  ADD COLUMN consecutive_failures int NOT NULL DEFAULT 0,
  -- First failure of the current run of failures (NULL after a success): drives the auto-disable.
  ADD COLUMN failing_since timestamptz,
  -- Circuit breaker: no attempt before this instant.
  ADD COLUMN breaker_open_until timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Redelivery: each `POST /v1/events/:id/redeliver` bumps the event's generation and puts it back in
-- the outbox; the dispatcher creates one delivery per (event, endpoint, generation).
ALTER TABLE events ADD COLUMN generation int NOT NULL DEFAULT 0;

ALTER TABLE webhook_deliveries
  ADD COLUMN generation int NOT NULL DEFAULT 0,
  ADD COLUMN first_attempt_at timestamptz,
  DROP CONSTRAINT webhook_deliveries_event_id_endpoint_id_key,
  ADD CONSTRAINT webhook_deliveries_event_endpoint_generation_key UNIQUE (event_id, endpoint_id, generation),
  -- cancelled: its endpoint was deleted before it succeeded; nothing more is sent.
  DROP CONSTRAINT webhook_deliveries_status_check,
  ADD CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled'));

-- The endpoint workflow's claim: an endpoint's pending deliveries, due first.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at, created_at)
  WHERE status = 'pending';

-- Down Migration
DROP INDEX webhook_deliveries_due_idx;
DELETE FROM webhook_delivery_attempts a USING webhook_deliveries d
  WHERE a.delivery_id = d.id AND d.generation > 0;
DELETE FROM webhook_deliveries WHERE generation > 0;
UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'cancelled';
ALTER TABLE webhook_deliveries
  DROP CONSTRAINT webhook_deliveries_status_check,
  ADD CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed')),
  DROP CONSTRAINT webhook_deliveries_event_endpoint_generation_key,
  ADD CONSTRAINT webhook_deliveries_event_id_endpoint_id_key UNIQUE (event_id, endpoint_id),
  DROP COLUMN first_attempt_at,
  DROP COLUMN generation;
ALTER TABLE events DROP COLUMN generation;
ALTER TABLE webhook_endpoints
  DROP COLUMN updated_at,
  DROP COLUMN breaker_open_until,
  DROP COLUMN failing_since,
  DROP COLUMN consecutive_failures,
  DROP COLUMN disabled_reason,
  DROP COLUMN status;
