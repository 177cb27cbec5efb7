-- Up Migration

-- Operators (roles admin, auditor): password (argon2id) + TOTP. The TOTP secret is AES-256-GCM
-- sealed (security/envelope.ts) under SETTLE_TOTP_KEY, never stored in clear.
-- `last_totp_step` makes each code single-use: a code is accepted only by the conditional UPDATE
-- that moves it forward, so concurrent submissions of one code cannot both win.
CREATE TABLE operators (
  id               text PRIMARY KEY,
  username         text NOT NULL,
  role             text NOT NULL CHECK (role IN ('admin', 'auditor')),
  password_hash    text NOT NULL,
  totp_secret_ct   bytea NOT NULL,
  last_totp_step   bigint,
  failed_attempts  int NOT NULL DEFAULT 0,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  disabled_at      timestamptz
);
CREATE UNIQUE INDEX operators_username_uq ON operators (lower(username));

-- First factor passed, second pending: the hash of the opaque mfaToken, short-lived, single use.
CREATE TABLE operator_mfa_challenges (
  token_hash   text PRIMARY KEY,
  operator_id  text NOT NULL REFERENCES operators (id),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);
CREATE INDEX operator_mfa_challenges_expiry_idx ON operator_mfa_challenges (expires_at);

-- Server-side operator sessions (the `sid` claim): idle timeout through last_seen_at, logout and
-- revocation through revoked_at.
CREATE TABLE operator_sessions (
  id            text PRIMARY KEY,
  operator_id   text NOT NULL REFERENCES operators (id),
  created_at    timestamptz NOT NULL,
  last_seen_at  timestamptz NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX operator_sessions_operator_idx ON operator_sessions (operator_id) WHERE revoked_at IS NULL;

-- Audit trail (PCI DSS 10.2, 10.3.2): append-only hash chain. `seq` is the chain position;
-- `hash` = SHA-256 of the canonical form of the event including `prev_hash` (security/audit.ts).
CREATE TABLE audit_events (
  seq         bigint PRIMARY KEY CHECK (seq > 0),
  id          text NOT NULL UNIQUE,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  resource    text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
  source_ip   text,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash   text NOT NULL,
  hash        text NOT NULL
);

-- Enforced in the database, not only in code: no UPDATE, DELETE or TRUNCATE, whoever connects
-- (a superuser must first disable the triggers, which is itself a visible, deliberate act).
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The application's role: a non-owner without UPDATE/DELETE/TRUNCATE on the audit trail. Roles are
-- cluster-wide, so creation tolerates an existing role (and a concurrent migration creating it).
DO $$
BEGIN
  CREATE ROLE settle_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO settle_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO settle_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO settle_app;
-- Tables of later migrations (run by the same owner) are granted to the application role too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO settle_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO settle_app;
REVOKE ALL ON audit_events FROM settle_app;
GRANT SELECT, INSERT ON audit_events TO settle_app;
REVOKE ALL ON audit_events FROM PUBLIC;

-- Down Migration
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM settle_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM settle_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM settle_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM settle_app;
REVOKE USAGE ON SCHEMA public FROM settle_app;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE operator_sessions;
DROP TABLE operator_mfa_challenges;
DROP TABLE operators;
