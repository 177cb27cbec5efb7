-- Up Migration

-- Key-encryption keys (KEKs) per legal entity, versioned. One active version per entity; rotation
-- inserts version n+1 as active and marks the previous ones 'retiring' until every data key under
-- them is re-wrapped, then 'retired'. kek_id is a KMS key id/ARN (or `local:...` for the dev provider).
CREATE TABLE kek_versions (
  legal_entity  text NOT NULL,
  version       int NOT NULL CHECK (version > 0),
  kek_id        text NOT NULL,
  state         text NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz,
  PRIMARY KEY (legal_entity, version)
);
CREATE UNIQUE INDEX kek_versions_active_uq ON kek_versions (legal_entity) WHERE state = 'active';

-- Wrapping keys: the middle tier (compliance/key-hierarchy.md). Each is a KMS data key
-- (GenerateDataKey under the entity's KEK, encryption context = purpose + legal entity + id), cached
-- in memory for a bounded age and use count, so KMS calls track time, not volume. Per-card data keys
-- are wrapped by a wrapping key; payload-codec keys ARE wrapping keys with purpose 'payload'.
CREATE TABLE wrapping_keys (
  id            text PRIMARY KEY,
  legal_entity  text NOT NULL,
  purpose       text NOT NULL CHECK (purpose IN ('card', 'payload')),
  kek_id        text NOT NULL,
  wrapped       bytea,
  created_at    timestamptz NOT NULL DEFAULT now(),
  destroyed_at  timestamptz,
  CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);
CREATE INDEX wrapping_keys_entity_idx ON wrapping_keys (legal_entity, purpose, kek_id) WHERE wrapped IS NOT NULL;

-- A per-card data key is wrapped either directly by a KEK (rows written before this migration:
-- wrapping_key_id NULL) or by a wrapping key.
ALTER TABLE data_keys ADD COLUMN wrapping_key_id text REFERENCES wrapping_keys (id);
CREATE INDEX data_keys_wrapping_idx ON data_keys (wrapping_key_id) WHERE wrapped IS NOT NULL;
CREATE INDEX data_keys_entity_live_idx ON data_keys (legal_entity, kek_id) WHERE wrapped IS NOT NULL;
-- GDPR erasure looks cards up by fingerprint (the data subject presents their card number).
CREATE INDEX cards_fingerprint_idx ON cards (fingerprint) WHERE deleted_at IS NULL;

-- Down Migration
DROP INDEX cards_fingerprint_idx;
DROP INDEX data_keys_entity_live_idx;
DROP INDEX data_keys_wrapping_idx;
ALTER TABLE data_keys DROP COLUMN wrapping_key_id;
DROP TABLE wrapping_keys;
DROP TABLE kek_versions;
