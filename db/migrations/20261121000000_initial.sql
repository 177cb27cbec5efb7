-- Up Migration

-- API clients: service clients (role service) and operators (admin, auditor).
CREATE TABLE clients (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  role          text NOT NULL CHECK (role IN ('service', 'admin', 'auditor')),
  secret_hash   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  disabled_at   timestamptz
);
CREATE UNIQUE INDEX clients_name_uq ON clients (name) WHERE disabled_at IS NULL;

-- Data keys: one per card, wrapped by a key-encryption key (KMS or local). Destroying the wrapped
-- key (crypto-shredding) makes every ciphertext under it unreadable.
CREATE TABLE data_keys (
  id            text PRIMARY KEY,
  kek_id        text NOT NULL,
  legal_entity  text NOT NULL,
  wrapped       bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  destroyed_at  timestamptz,
  CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

-- Vault. PAN and holder name are one AES-256-GCM blob; the CVC is its own blob, kept only until the
-- first authorization or cvc_expires_at, then set to NULL. Only BIN, last 4 and a keyed fingerprint
-- are in clear.
CREATE TABLE cards (
  token           text PRIMARY KEY,
  client_id       text NOT NULL REFERENCES clients (id),
  legal_entity    text NOT NULL,
  data_key_id     text NOT NULL REFERENCES data_keys (id),
  pan_ct          bytea,
  cvc_ct          bytea,
  cvc_expires_at  timestamptz,
  brand           text NOT NULL,
  bin             text NOT NULL,
  last4           text NOT NULL,
  exp_month       int NOT NULL,
  exp_year        int NOT NULL,
  fingerprint     text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz
);
CREATE INDEX cards_client_idx ON cards (client_id, created_at);
CREATE INDEX cards_cvc_expiry_idx ON cards (cvc_expires_at) WHERE cvc_ct IS NOT NULL;

-- Payment projection, written by activities from the workflow's state. `version` only grows, so a
-- late retry of an older projection never overwrites a newer one.
CREATE TABLE payments (
  id                        text PRIMARY KEY,
  client_id                 text NOT NULL REFERENCES clients (id),
  status                    text NOT NULL,
  amount                    bigint NOT NULL CHECK (amount > 0),
  currency                  char(3) NOT NULL,
  amount_capturable         bigint NOT NULL DEFAULT 0,
  amount_captured           bigint NOT NULL DEFAULT 0,
  amount_refunded           bigint NOT NULL DEFAULT 0,
  capture                   text NOT NULL CHECK (capture IN ('manual', 'automatic')),
  provider                  text NOT NULL,
  provider_reference        text,
  token                     text NOT NULL,
  brand                     text,
  last4                     text,
  decline_code              text,
  authorization_expires_at  timestamptz,
  merchant_reference        text,
  description               text,
  metadata                  jsonb,
  version                   int NOT NULL,
  created_at                timestamptz NOT NULL,
  updated_at                timestamptz NOT NULL,
  CHECK (amount_captured <= amount AND amount_refunded <= amount_captured)
);
CREATE INDEX payments_client_list_idx ON payments (client_id, created_at DESC, id DESC);
CREATE INDEX payments_status_idx ON payments (status, created_at DESC, id DESC);

CREATE TABLE refunds (
  id                  text PRIMARY KEY,
  payment_id          text NOT NULL REFERENCES payments (id),
  amount              bigint NOT NULL CHECK (amount > 0),
  status              text NOT NULL,
  reason              text,
  provider_refund_id  text,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);

-- API idempotency (API.md Conventions): one row per (client, key). `request_hash` detects a reused
-- key with another body; state in_flight -> done; rows older than 24 h are purged.
CREATE TABLE idempotency_keys (
  client_id        text NOT NULL,
  key              text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
  response_status  int,
  response_body    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The built-in sandbox provider keeps its books here, so its idempotency survives worker restarts
-- and tests can count effects at the provider.
CREATE TABLE sandbox_transactions (
  reference          text PRIMARY KEY,
  payment_id         text NOT NULL,
  status             text NOT NULL,
  currency           char(3) NOT NULL,
  amount_authorized  bigint NOT NULL,
  amount_captured    bigint NOT NULL DEFAULT 0,
  amount_refunded    bigint NOT NULL DEFAULT 0,
  decline_code       text,
  capture_before     timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sandbox_transactions_payment_uq ON sandbox_transactions (payment_id);

CREATE TABLE sandbox_operations (
  idempotency_key  text PRIMARY KEY,
  reference        text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('authorize', 'capture', 'void', 'refund')),
  amount           bigint NOT NULL,
  result           jsonb NOT NULL,
  attempts         int NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_operations_reference_idx ON sandbox_operations (reference, created_at);

-- Sandbox fault injection counts attempts per idempotency key even when nothing took effect.
CREATE TABLE sandbox_attempts (
  idempotency_key  text PRIMARY KEY,
  attempts         int NOT NULL
);

-- Down Migration
DROP TABLE sandbox_attempts;
DROP TABLE sandbox_operations;
DROP TABLE sandbox_transactions;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE cards;
DROP TABLE data_keys;
DROP TABLE clients;
