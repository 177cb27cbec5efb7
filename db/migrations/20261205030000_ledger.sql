-- Up Migration

-- Double-entry ledger (chart of accounts and movements: domain/ledger.ts). Accounts per (merchant,
-- currency, kind); journal entries keyed by the workflow step that posts them (step_key UNIQUE, so
-- a retried or replayed step posts once); lines in signed minor units (debit > 0, credit < 0).
--
-- Enforced here, for every role including the owner:
--   - every entry balances: at commit (a deferred constraint trigger, since the lines are inserted
--     after their entry) an entry has at least two lines summing to 0, all in its merchant and
--     currency (composite foreign key);
--   - lines belong to the transaction that created their entry: nothing is added to an entry later;
--   - append-only: UPDATE, DELETE and TRUNCATE are refused by triggers. Corrections are reversal
--     entries. The one maintenance path is the owner's `ALTER TABLE ... DISABLE TRIGGER`, a visible,
--     deliberate act the runtime role cannot perform (it owns nothing and has SELECT/INSERT only).

CREATE TABLE ledger_accounts (
  client_id   text NOT NULL REFERENCES clients (id),
  currency    char(3) NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('authorized_holds', 'merchant_pending', 'receivable_from_provider',
                                            'merchant_balance', 'refunds_payable', 'disputed', 'fees')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, currency, kind)
);

CREATE TABLE ledger_entries (
  id           text PRIMARY KEY CHECK (id ~ '^je_[0-9A-Za-z]{8,64}$'),
  client_id    text NOT NULL REFERENCES clients (id),
  payment_id   text REFERENCES payments (id),
  kind         text NOT NULL CHECK (kind IN ('opening_balance', 'authorization', 'capture', 'hold_release',
                                             'refund', 'dispute_withdrawal', 'dispute_reinstatement',
                                             'provider_fee', 'reversal')),
  currency     char(3) NOT NULL,
  step_key     text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  -- The transaction that inserted the entry (set by trigger): only it may add the entry's lines.
  txid         bigint NOT NULL DEFAULT 0,
  UNIQUE (id, client_id, currency)
);
CREATE INDEX ledger_entries_client_list_idx ON ledger_entries (client_id, created_at DESC, id DESC);
CREATE INDEX ledger_entries_list_idx ON ledger_entries (created_at DESC, id DESC);
CREATE INDEX ledger_entries_payment_idx ON ledger_entries (payment_id, created_at DESC, id DESC);

CREATE TABLE ledger_lines (
  entry_id   text NOT NULL,
  line_no    smallint NOT NULL CHECK (line_no >= 0),
  client_id  text NOT NULL,
  currency   char(3) NOT NULL,
  account    text NOT NULL,
  amount     bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (entry_id, line_no),
  FOREIGN KEY (entry_id, client_id, currency) REFERENCES ledger_entries (id, client_id, currency),
  FOREIGN KEY (client_id, currency, account) REFERENCES ledger_accounts (client_id, currency, kind)
);
CREATE INDEX ledger_lines_account_idx ON ledger_lines (client_id, currency, account);

CREATE FUNCTION ledger_entry_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.txid := txid_current();
  RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_stamp BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entry_stamp();

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  total numeric;
BEGIN
  SELECT count(*), coalesce(sum(amount), 0) INTO n, total FROM ledger_lines WHERE entry_id = NEW.id;
  IF n < 2 OR total <> 0 THEN
    RAISE EXCEPTION 'ledger entry % does not balance (% lines, sum %)', NEW.id, n, total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE FUNCTION ledger_line_same_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id AND txid = txid_current()) THEN
    RAISE EXCEPTION 'ledger entry % is closed: lines are added only with their entry', NEW.entry_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_lines_with_entry AFTER INSERT ON ledger_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_line_same_transaction();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused); correct with a reversal entry', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER ledger_accounts_no_update_delete BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_lines_no_update_delete BEFORE UPDATE OR DELETE ON ledger_lines
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_lines_no_truncate BEFORE TRUNCATE ON ledger_lines
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- The application's roles read and append, nothing else (db/roles.ts).
REVOKE ALL ON ledger_accounts, ledger_entries, ledger_lines FROM settle_app;
REVOKE ALL ON ledger_accounts, ledger_entries, ledger_lines FROM PUBLIC;
GRANT SELECT, INSERT ON ledger_accounts, ledger_entries, ledger_lines TO settle_app;

-- Down Migration
DROP TABLE ledger_lines;
DROP TABLE ledger_entries;
DROP TABLE ledger_accounts;
DROP FUNCTION ledger_append_only();
DROP FUNCTION ledger_line_same_transaction();
DROP FUNCTION ledger_entry_balanced();
DROP FUNCTION ledger_entry_stamp();
