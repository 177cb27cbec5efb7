/**
 * Least privilege for real (PCI DSS 7.2.5, 10.3.2): the API and the workers connect as the login role
 * `settle_runtime` (db/roles.ts), created by the migration step run as the owner. Connected AS that
 * role (not SET ROLE from a superuser), nothing can alter the audit trail: no UPDATE/DELETE/TRUNCATE
 * on audit_events or audit_anchors, no trigger changes, no DDL, no replication-role trick; reading
 * and appending still work. And a rewrite done by the owner, who can disable the triggers but lacks
 * the audit keys, is reported by verify against the keyed anchor.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createAuditLog, type AuditLog } from '../../db/audit-repo';
import { createPool, type Pool } from '../../db/pool';
import { RUNTIME_ROLE } from '../../db/roles';
import { eventHash, GENESIS_HASH, type AuditEvent } from '../../security/audit';
import { auditKeysFrom } from '../../security/purpose-keys';
import { freshChain, tamper } from '../support/audit-fixtures';
import { createTestDatabase, migrateDatabase, runtimeUrl, type TestDatabase } from '../support/database';

const keys = auditKeysFrom(randomBytes(32));
let db: TestDatabase;
let owner: Pool;
let runtime: Pool;
let audit: AuditLog;
let asRuntime: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  migrateDatabase(db.url);
  // Migrating again (as every start does) keeps the role as it is.
  migrateDatabase(db.url);
  owner = createPool(db.url, 'settle-privilege-owner', 3);
  runtime = createPool(runtimeUrl(db.url), 'settle-privilege-runtime', 3);
  audit = createAuditLog(runtime, { keys });
  asRuntime = new Client({ connectionString: runtimeUrl(db.url) });
  await asRuntime.connect();
}, 120_000);
afterAll(async () => {
  await asRuntime?.end();
  await runtime?.end();
  await owner?.end();
  await db?.drop();
});

test('the runtime connection logs in as settle_runtime: no superuser, no owner, no role or database creation', async () => {
  const who = await asRuntime.query<Record<string, unknown>>(
    `SELECT current_user AS u, session_user AS s, r.rolsuper AS su, r.rolcreatedb AS cdb,
            r.rolcreaterole AS crole, r.rolbypassrls AS brls, r.rolreplication AS repl,
            pg_has_role(current_user, 'settle_app', 'MEMBER') AS app,
            (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_events') = current_user AS owns_audit,
            has_schema_privilege('public', 'CREATE') AS create_in_public
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  expect(who.rows[0]).toEqual({
    u: RUNTIME_ROLE,
    s: RUNTIME_ROLE,
    su: false,
    cdb: false,
    crole: false,
    brls: false,
    repl: false,
    app: true,
    owns_audit: false,
    create_in_public: false,
  });
  const priv = await asRuntime.query<Record<string, boolean>>(
    `SELECT t AS table_name,
            has_table_privilege(t, 'SELECT') AS sel, has_table_privilege(t, 'INSERT') AS ins,
            has_table_privilege(t, 'UPDATE') AS upd, has_table_privilege(t, 'DELETE') AS del,
            has_table_privilege(t, 'TRUNCATE') AS trn, has_table_privilege(t, 'TRIGGER') AS trg
       FROM unnest(ARRAY['audit_events', 'audit_anchors']) AS t`,
  );
  expect(priv.rows).toEqual([
    { table_name: 'audit_events', sel: true, ins: true, upd: false, del: false, trn: false, trg: false },
    { table_name: 'audit_anchors', sel: true, ins: true, upd: false, del: false, trn: false, trg: false },
  ]);
});

test('as settle_runtime, every way to alter the audit trail or the schema is refused', async () => {
  const ev = await freshChain(owner, audit, 2);
  await audit.anchor();
  const refused = [
    `UPDATE audit_events SET actor = 'x' WHERE id = '${ev[0]!.id}'`,
    `DELETE FROM audit_events WHERE id = '${ev[0]!.id}'`,
    'TRUNCATE audit_events',
    "UPDATE audit_anchors SET mac = 'x'",
    'DELETE FROM audit_anchors',
    'TRUNCATE audit_anchors',
    'ALTER TABLE audit_events DISABLE TRIGGER USER',
    'ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete',
    'ALTER TABLE audit_anchors DISABLE TRIGGER USER',
    'DROP TRIGGER audit_events_no_update_delete ON audit_events',
    'ALTER TRIGGER audit_events_no_truncate ON audit_events RENAME TO x',
    'DROP FUNCTION audit_events_append_only() CASCADE',
    'CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$',
    'ALTER TABLE audit_events ADD COLUMN x int',
    'DROP TABLE audit_anchors',
    'CREATE TABLE x (id int)',
    'ALTER TABLE payments ADD COLUMN x int',
    "SET session_replication_role = 'replica'",
    'DELETE FROM schema_migrations',
    `CREATE ROLE x_${randomBytes(4).toString('hex')}`,
  ];
  const outcomes: Array<[string, string]> = [];
  for (const sql of refused) {
    try {
      await asRuntime.query(sql);
      outcomes.push([sql, 'ALLOWED']);
    } catch (err) {
      outcomes.push([sql, (err as { code?: string }).code ?? 'error']);
    }
  }
  // 42501 insufficient_privilege (includes "must be owner"); nothing was allowed.
  expect(outcomes.filter(([, code]) => code !== '42501')).toEqual([]);
  expect(await audit.verify()).toMatchObject({ valid: true, checked: 2 });
});

test('as settle_runtime, the application still appends, reads and anchors', async () => {
  await freshChain(owner, audit, 0);
  const e = await audit.append({ actor: 'x', action: 'y', resource: 'z', outcome: 'success' });
  expect(e).toMatchObject({ seq: 1, v: 2 });
  const a = await audit.anchor();
  expect(a).toMatchObject({ seq: 1, id: e.id });
  expect(await audit.verify()).toEqual({ valid: true, checked: 1, anchoredAt: a!.at });
  const page = await audit.list({ limit: 10 });
  expect(page!.data.map((x) => x.id)).toEqual([e.id]);
});

/** What an owner without the audit keys can compute: SHA-256 over the canonical form. */
function shaChain(rows: AuditEvent[], v: number, edit: (e: AuditEvent) => AuditEvent): AuditEvent[] {
  let prevHash = GENESIS_HASH;
  return rows.map((row) => {
    const base = { ...edit(row), v, prevHash };
    // v1 is SHA-256; for v2 the owner can only guess with some key (here: an empty one).
    const e = { ...base, hash: eventHash({ ...base, v: 1 }, Buffer.alloc(0)) };
    prevHash = e.hash;
    return e;
  });
}

async function rewriteAll(rows: AuditEvent[]): Promise<void> {
  for (const e of rows)
    await tamper(
      owner,
      'UPDATE audit_events SET v = $2, actor = $3, prev_hash = $4, hash = $5 WHERE seq = $1',
      [e.seq, e.v, e.actor, e.prevHash, e.hash],
    );
}

test.each([
  ['as keyed (v2) events', 2],
  ['downgraded to unkeyed (v1) events', 1],
])(
  'an owner who disables the triggers and rewrites the whole chain with recomputed hashes (%s) is reported',
  async (_label, v) => {
    const ev = await freshChain(owner, audit, 5);
    const anchor = await audit.anchor();
    const forged = shaChain(ev, v, (e) => (e.seq === 2 ? { ...e, actor: 'covering-my-tracks' } : e));
    await rewriteAll(forged);
    const stored = await owner.query<{ actor: string }>('SELECT actor FROM audit_events WHERE seq = 2');
    expect(stored.rows[0]!.actor).toBe('covering-my-tracks');
    const r = await audit.verify();
    expect(r).toMatchObject({ valid: false, anchoredAt: anchor!.at });
    // v2: the first recomputed hash fails the HMAC; v1: the unkeyed chain is self-consistent up to
    // the anchored event, whose hash no longer matches the keyed anchor.
    expect(r.firstBrokenId).toBe(v === 2 ? ev[0]!.id : ev[4]!.id);
  },
);
