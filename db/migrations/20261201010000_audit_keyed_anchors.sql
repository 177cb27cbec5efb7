-- Up Migration

-- Keyed audit chain (security/audit.ts): each event records the version its hash was computed with.
-- Events written before this migration keep v = 1 (SHA-256, unkeyed); new events are written with
-- v = 2 (HMAC-SHA256 under the audit chain key) and the repository always sets v explicitly.
-- Adding a column with a default is a catalog change: no UPDATE runs, the append-only triggers stay.
ALTER TABLE audit_events ADD COLUMN v smallint NOT NULL DEFAULT 1 CHECK (v IN (1, 2));
ALTER TABLE audit_events ALTER COLUMN v DROP DEFAULT;

-- Keyed anchors: the chain head (seq, event id, event hash) at a time, MACed under the audit anchor
-- key. Verification checks the chain against the latest one, so a chain rebuilt by someone without
-- the key (the database owner included) fails even when every link is self-consistent.
CREATE TABLE audit_anchors (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq         bigint NOT NULL CHECK (seq > 0),
  event_id    text NOT NULL,
  event_hash  text NOT NULL,
  at          timestamptz NOT NULL,
  mac         text NOT NULL
);
CREATE INDEX audit_anchors_latest_idx ON audit_anchors (seq DESC, at DESC);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_anchors_no_update_delete BEFORE UPDATE OR DELETE ON audit_anchors
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- The application's roles (settle_app, and the login role settle_runtime that db/roles.ts creates
-- in it) read and append anchors, nothing else.
REVOKE ALL ON audit_anchors FROM settle_app;
REVOKE ALL ON audit_anchors FROM PUBLIC;
GRANT SELECT, INSERT ON audit_anchors TO settle_app;

-- The migration ledger and the schema itself belong to the owner alone: no DDL for anyone else
-- (PostgreSQL 15 already revokes CREATE on public from PUBLIC; older servers did not).
REVOKE ALL ON schema_migrations FROM settle_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Down Migration
DROP TABLE audit_anchors;
DROP FUNCTION audit_append_only();
ALTER TABLE audit_events DROP COLUMN v;
